"""`saviour demo`: the before/after chicken demo on the farm world, with its summary.

Each output frame shows the hunter's view of the clean frame (left) and of the defended frame
(right). The summary counts, over frames with a chicken at least 20 px tall and half visible, how
often the hunter's target (its most confident chicken) is a real chicken: before any defence, after
camouflage blocks, after control blocks (shuffled pixels), after plain grey squares of the same size
(occlusion alone), with ghost-chicken decoys alone, and after the on-the-fly FGSM step (no block).
"""

from __future__ import annotations

import argparse
import json
import time
from collections import deque
from pathlib import Path

import numpy as np
from tqdm import tqdm

from blocks.paste import FOOTPRINT_GROWTH
from engine.detection.detections import target_point
from engine.detection.hunter import HunterDetector
from engine.device import resolve_device
from engine.files import write_atomically
from farm.evaluate import points_in_box
from farm.world import FarmWorld
from realtime.choices import ATTACK_EPS, DEFAULT_FRACTION, DEMO_SEED, PHOTO_DEMO_FRACTION
from realtime.commands.setup import load_hunter, load_library
from realtime.io.sinks import GifSink, VideoSink
from realtime.io.video import prepare_output
from realtime.pipeline.defended import FrameResult, pipeline_for
from realtime.pipeline.heatmap import LiveHeatmap
from realtime.pipeline.memory import HeapTrimmer
from realtime.pipeline.overlay import side_by_side
from realtime.pipeline.runner import run

MODES = ("none", "camouflage", "control", "occlusion", "decoys", "fgsm", "pgd", "noise")
ATTACKS = ("pgd", "noise")
SUMMARY_KEYS = {"none": "before", "camouflage": "after_camouflage", "control": "after_control",
                "occlusion": "after_occlusion", "decoys": "with_decoys", "fgsm": "after_fgsm", "pgd": "after_pgd",
                "noise": "after_noise"}   # the on-the-fly columns whose budget the demo's --attack-eps sets
HEAT_MODES = ("none", "camouflage", "decoys")   # modes whose heatmaps the summary compares


def _inside(point, boxes) -> bool:
    return point is not None and any(points_in_box(np.array([point]), box)[0] for box in boxes)


def on_chicken(point, chickens: list, footprints: np.ndarray) -> bool:
    """Whether the hunter's target is on a real chicken: inside a chicken's box, or inside the square
    of a block pasted on one (grown a little). A hunter that aims at the edge of the block covering a
    chicken has found that chicken, though the point may lie just outside the chicken's own box."""
    centres = (footprints[:, :2] + footprints[:, 2:]) / 2
    half = (footprints[:, 2:] - footprints[:, :2]) * FOOTPRINT_GROWTH / 2
    grown = np.concatenate([centres - half, centres + half], 1)
    covering = [box for box in grown if any(_overlap(box, chicken) for chicken in chickens)]
    return _inside(point, chickens) or _inside(point, covering)


def _overlap(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def footprints(pipeline, result: FrameResult) -> np.ndarray:
    """The regions the pipeline's defences changed on this frame's protected animals: the squares of
    blocks pasted on them, or the regions an on-the-fly attack perturbed."""
    protected = result.before.of_class(pipeline.protect).xyxy
    squares = [d.footprints(protected) for d in pipeline.defences if hasattr(d, "footprints")]
    return np.concatenate(squares) if squares else np.zeros((0, 4))


class DemoTally:
    """Per mode, the frames whose hunter target lies on a real chicken (and, with decoys, on a decoy):
    by `on_chicken`, and by the chicken's box alone, the rule before blocks' footprints counted."""

    def __init__(self, pipelines: dict):
        self.pipelines, self.frames = pipelines, 0
        self.on_chicken = dict.fromkeys(pipelines, 0)
        self.in_box = dict.fromkeys(pipelines, 0)
        self.on_decoy = 0
        self.heat = {}    # "where/mode" -> list of mean heat inside those boxes

    def add(self, results: dict[str, FrameResult], animals) -> None:
        if not any(a.label == "chicken" and a.height >= 20 and a.visible >= 0.5 for a in animals):
            return
        self.frames += 1
        chickens = [a.xyxy for a in animals if a.label == "chicken"]
        for mode, result in results.items():
            target = target_point(result.after)
            self.on_chicken[mode] += on_chicken(target, chickens, footprints(self.pipelines[mode], result))
            self.in_box[mode] += _inside(target, chickens)
        if "decoys" in results:
            self.on_decoy += _inside(target_point(results["decoys"].after), results["decoys"].decoys)
        for mode in HEAT_MODES:
            heat = results[mode].heatmap if mode in results else None
            if heat is not None:
                self.heat.setdefault(f"chickens/{mode}", []).append(box_heat(heat, chickens, results[mode].frame.shape))
        if "decoys" in results and results["decoys"].heatmap is not None:
            self.heat.setdefault("decoys/decoys", []).append(
                box_heat(results["decoys"].heatmap, results["decoys"].decoys, results["decoys"].frame.shape))

    def summary(self) -> dict:
        summary = {"frames_with_chicken": self.frames,
                   "targets_real_chicken": self._shares(self.on_chicken),
                   "targets_real_chickens_box_only": self._shares(self.in_box)}
        if "decoys" in self.pipelines:
            summary["with_decoys_targets_decoy"] = self.on_decoy / self.frames if self.frames else float("nan")
        if self.heat:
            summary["mean_heat"] = {key: float(np.mean(v)) for key, v in self.heat.items()}
        return summary

    def _shares(self, counts: dict) -> dict:
        return {SUMMARY_KEYS[mode]: n / self.frames if self.frames else float("nan") for mode, n in counts.items()}


def box_heat(heat: np.ndarray, boxes, frame_shape) -> float:
    """Mean of a [0, 1] heatmap over the given frame boxes (heat at its own resolution)."""
    fy, fx = heat.shape[0] / frame_shape[0], heat.shape[1] / frame_shape[1]
    values = [heat[int(y0 * fy):max(int(y0 * fy) + 1, int(y1 * fy)), int(x0 * fx):max(int(x0 * fx) + 1, int(x1 * fx))]
              for x0, y0, x1, y1 in boxes]
    return float(np.mean(np.concatenate([v.ravel() for v in values]))) if values else float("nan")


def _heatmaps(classifier) -> dict[str, LiveHeatmap]:
    """One live heatmap per compared mode. Camouflage is coloured by the clean frames' range, so heat
    that fades shows as fading instead of being stretched back to full colour; decoys raise the
    evidence everywhere, so their map keeps its own range and shows where the heat sits within the frame."""
    clean = LiveHeatmap(classifier)
    return {"none": clean, "camouflage": LiveHeatmap(classifier, colours=clean.colours),
            "decoys": LiveHeatmap(classifier)}


class DemoColumns:
    """Every column's pipeline on each frame, all from one clean detection: `__call__` is the runner's
    stateless work, `add_heatmaps` its in-order part."""

    def __init__(self, pipelines: dict, shown: str = "camouflage"):
        self.pipelines, self.shown = pipelines, shown

    def __call__(self, frames: list[np.ndarray]) -> list[tuple[dict[str, FrameResult], float]]:
        """Per frame, each column's result and the seconds the shown column took, its clean detection included."""
        done = []
        for frame in frames:
            start = time.perf_counter()
            shown = self.pipelines[self.shown].detect_and_defend([frame])[0]
            elapsed = time.perf_counter() - start
            # every mode starts from the same clean detections; only the defended frames differ
            done.append(({mode: shown if mode == self.shown else p.detect_and_defend([frame], [shown.clean_scan])[0]
                          for mode, p in self.pipelines.items()}, elapsed))
        return done

    def add_heatmaps(self, columns: dict[str, FrameResult]) -> None:
        """The shown column's first: it shares the clean column's colour range as that stood before."""
        for mode in [self.shown] + [m for m in self.pipelines if m != self.shown]:
            self.pipelines[mode].add_heatmap(columns[mode])


def run_demo(detector, library, out_dir: str | Path, frames: int = 300, fraction: float = DEFAULT_FRACTION,
             gif_width: int = 480, gif_fps: float = 15.0, heatmap: bool = False, attack_eps: float = ATTACK_EPS["pgd"],
             cube: bool = False, seed: int = DEMO_SEED) -> dict:
    """Write demo.mp4, demo.gif and demo_summary.json under `out_dir`; return the summary.

    With `heatmap`, both panels show a live RISE map of the hunter's chicken evidence, and the summary
    gives the mean heat on chickens before and after the defence and on the decoys.
    """
    out_dir = Path(out_dir)
    heatmaps = _heatmaps(detector.classifier) if heatmap else {}
    columns = DemoColumns({mode: pipeline_for(detector, library, mode, fraction, heatmap=heatmaps.get(mode),
                                              attack_eps=attack_eps if mode in ATTACKS else None, cube=cube)
                           for mode in MODES})   # first: a library without the blocks creates no output folder
    prepare_output(out_dir / "demo.mp4")
    world, animals = FarmWorld(seed=seed), deque()

    def world_frames():
        for i in range(frames):
            frame, seen = world.render(i)
            animals.append(seen)
            yield frame

    tally, trimmer, seconds = DemoTally(columns.pipelines), HeapTrimmer(), None
    gif_every = max(1, round(world.fps / gif_fps))
    with (tqdm(total=frames, desc="demo", unit="frame") as bar,
          GifSink(out_dir / "demo.gif", world.fps / gif_every, every=gif_every, width=gif_width) as gif,
          VideoSink(out_dir / "demo.mp4", world.fps) as video):   # the video finished first, as the larger
        def show(item) -> None:
            nonlocal seconds
            results, elapsed = item
            columns.add_heatmaps(results)
            tally.add(results, animals.popleft())
            seconds = elapsed if seconds is None else 0.9 * seconds + 0.1 * elapsed   # smoothed, for a readable HUD
            panel = side_by_side(results["camouflage"], "camouflage blocks", 1 / seconds, results["none"].heatmap)
            video.write(panel)
            gif.write(panel)
            trimmer.tick()
            bar.update()

        run(world_frames(), columns, [show])
    summary = tally.summary() | {"world_seed": seed, "frames": frames, "block_fraction": fraction,
                                 "heatmap": "rise" if heatmap else "none", "fgsm_eps": ATTACK_EPS["fgsm"],
                                 "attack_eps": attack_eps, "cube": cube}
    write_atomically(out_dir / "demo_summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


def demo(args: argparse.Namespace) -> None:
    if args.fraction is None:
        args.fraction = DEFAULT_FRACTION if args.model == "hunter" else PHOTO_DEMO_FRACTION
    if args.model != "hunter":
        from realtime.commands.photo_demo import photo_demo

        return photo_demo(args)
    hunter, hunter_sha256 = load_hunter(args.weights, resolve_device(args.device))
    library = load_library(args.library, hunter, hunter_sha256)
    summary = run_demo(HunterDetector(hunter), library, args.out, frames=args.frames, fraction=args.fraction,
                       heatmap=args.heatmap == "rise", attack_eps=args.attack_eps, cube=args.cube, seed=args.seed)
    print(f"frames with a chicken in view (a {args.frames}-frame sample): {summary['frames_with_chicken']}")
    print("hunter targets a real chicken (its box or the block on it): " + _shares(summary["targets_real_chicken"]))
    print("  counting its box alone: " + _shares(summary["targets_real_chickens_box_only"]))
    print(f"with decoys the hunter targets a decoy: {summary['with_decoys_targets_decoy']:.1%}")
    if "mean_heat" in summary:
        print("mean heat: " + ", ".join(f"{k} {v:.3f}" for k, v in summary["mean_heat"].items()))
    print(f"wrote {Path(args.out) / 'demo.mp4'}, demo.gif, demo_summary.json")


def _shares(shares: dict) -> str:
    return ", ".join(f"{k.replace('_', ' ')} {v:.1%}" for k, v in shares.items())
