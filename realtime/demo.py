"""`saviour demo`: the before/after chicken demo on the farm world, with its summary.

Each output frame shows the hunter's view of the clean frame (left) and of the defended frame
(right). The summary counts, over frames with a chicken at least 20 px tall and half visible, how
often the hunter's target (its most confident chicken) is a real chicken: before any defence, after
camouflage blocks, after control blocks (shuffled pixels), and with ghost-chicken decoys alone.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from engine.detect import target_point
from realtime.evaluate import points_in_box
from realtime.gif import write_gif
from realtime.overlay import hunter_view, put_label
from realtime.pipeline import DefendedPipeline, FrameResult
from realtime.video import Mp4Writer, prepare_output
from realtime.world import FarmWorld

# Not a seed of hunter training (0-79), block making (100-109, 3000-3004) or detector evaluation (1001).
DEMO_SEED = 4242
MODES = ("none", "camouflage", "control", "decoys")


def _inside(point, boxes) -> bool:
    return point is not None and any(points_in_box(np.array([point]), box)[0] for box in boxes)


class DemoTally:
    """Per mode, the frames whose hunter target lies on a real chicken (and, with decoys, on a decoy)."""

    def __init__(self):
        self.frames = 0
        self.on_chicken = dict.fromkeys(MODES, 0)
        self.on_decoy = 0

    def add(self, results: dict[str, FrameResult], animals) -> None:
        if not any(a.label == "chicken" and a.height >= 20 and a.visible >= 0.5 for a in animals):
            return
        self.frames += 1
        chickens = [a.xyxy for a in animals if a.label == "chicken"]
        for mode, result in results.items():
            self.on_chicken[mode] += _inside(target_point(result.after), chickens)
        self.on_decoy += _inside(target_point(results["decoys"].after), results["decoys"].decoys)

    def summary(self) -> dict:
        share = {m: n / self.frames if self.frames else float("nan") for m, n in self.on_chicken.items()}
        return {
            "frames_with_chicken": self.frames,
            "targets_real_chicken": {"before": share["none"], "after_camouflage": share["camouflage"],
                                     "after_control": share["control"], "with_decoys": share["decoys"]},
            "with_decoys_targets_decoy": self.on_decoy / self.frames if self.frames else float("nan"),
        }


def side_by_side(result: FrameResult, fps: float, mode: str) -> np.ndarray:
    before = hunter_view(result.frame, result.before, target_point(result.before))
    after = hunter_view(result.defended, result.after, target_point(result.after))
    put_label(before, "BEFORE", (8, 20), (255, 255, 255), scale=0.55)
    put_label(after, f"AFTER: {mode}", (8, 20), (255, 255, 255), scale=0.55)
    put_label(after, f"{fps:5.1f} FPS", (after.shape[1] - 90, 20), (255, 255, 255), scale=0.5)
    return np.concatenate([before, after], axis=1)


def run_demo(detector, library, out_dir: str | Path, frames: int = 300, fraction: float = 0.8,
             gif_width: int = 480, gif_fps: float = 15.0) -> dict:
    """Write demo.mp4, demo.gif and demo_summary.json under `out_dir`; return the summary."""
    out_dir = Path(out_dir)
    prepare_output(out_dir / "demo.mp4")
    pipelines = {mode: DefendedPipeline(detector, library, mode, fraction) for mode in MODES}
    world = FarmWorld(seed=DEMO_SEED)
    tally, gif_frames, seconds = DemoTally(), [], 0.0
    gif_every = max(1, round(world.fps / gif_fps))
    with Mp4Writer(out_dir / "demo.mp4", fps=world.fps) as video:
        for i in tqdm(range(frames), desc="demo", unit="frame"):
            frame, animals = world.render(i)
            start = time.perf_counter()
            shown = pipelines["camouflage"](frame)
            elapsed = time.perf_counter() - start
            seconds = elapsed if i == 0 else 0.9 * seconds + 0.1 * elapsed   # smoothed, so the HUD is readable
            # every mode starts from the same clean detections; only the defended frames differ
            results = {mode: shown if mode == "camouflage" else p(frame, shown.before)
                       for mode, p in pipelines.items()}
            tally.add(results, animals)
            panel = side_by_side(shown, 1 / seconds, "camouflage blocks")
            video.write(panel)
            if i % gif_every == 0:
                gif_frames.append(panel)
    write_gif(gif_frames, out_dir / "demo.gif", fps=world.fps / gif_every, width=gif_width)
    summary = tally.summary() | {"world_seed": DEMO_SEED, "frames": frames, "block_fraction": fraction}
    (out_dir / "demo_summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary
