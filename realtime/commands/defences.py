"""`saviour evaluate-defences`: every defence of the demo over thousands of frames of unseen worlds.

The demo's 300 frames are a sample; this runs its columns over several worlds and counts the frames
whose target is a real chicken (its box, or the block or perturbation on it: `demo.on_chicken`),
beside the count by the chicken's box alone. Two tables:

- blocks (no defence, camouflage, its shuffled control, grey squares, decoys) on every `every`-th
  frame, at each block size;
- on-the-fly attacks (PGD, sign noise of the same budget, one FGSM step) on consecutive frames, as a
  video gives them (PGD carries each chicken's perturbation to the next frame), at each budget, with
  the frames per second of the PGD pipeline (clean detection, attack, detection again).
"""

from __future__ import annotations

import argparse
from collections import deque

from tqdm import tqdm

from engine.detection.hunter import HunterDetector
from engine.device import resolve_device
from farm.world import FarmWorld
from realtime.commands.demo import DemoColumns, DemoTally
from realtime.commands.setup import load_hunter, load_library
from realtime.pipeline.defended import pipeline_for
from realtime.pipeline.runner import run

BLOCK_COLUMNS = {"none": "no defence", "camouflage": "camouflage", "control": "shuffled control",
                 "occlusion": "grey square", "decoys": "decoys"}
ATTACK_COLUMNS = {"pgd": "PGD", "noise": "sign noise", "fgsm": "FGSM, one step"}


def tally_world(columns: DemoColumns, seed: int, frames: int, every: int, progress) -> tuple[DemoTally, float]:
    """Every `every`-th of `frames` frames of world `seed` through every column; the tally and the
    seconds the shown column took."""
    world, animals, tally = FarmWorld(seed=seed, frames=frames), deque(), DemoTally(columns.pipelines)
    seconds = 0.0

    def world_frames():
        for i in range(0, frames, every):
            frame, seen = world.render(i)
            animals.append(seen)
            yield frame

    def count(item) -> None:
        nonlocal seconds
        results, elapsed = item
        tally.add(results, animals.popleft())
        seconds += elapsed
        progress.update()

    run(world_frames(), columns, [count])
    return tally, seconds


def evaluate_defences(args: argparse.Namespace) -> None:
    hunter, hunter_sha256 = load_hunter(args.weights, resolve_device(args.device))
    library = load_library(args.library, hunter, hunter_sha256)
    detector = HunterDetector(hunter)
    sampled = len(range(0, args.frames, args.every))
    total = len(args.seeds) * (sampled * len(args.fractions) + args.attack_frames * len(args.budgets))
    print("frames with a chicken in view; the share whose target is a real chicken (its box or the block or "
          "perturbation on it), and in brackets by its box alone")
    with tqdm(total=total, desc="frames", unit="frame", leave=False) as bar:
        tqdm.write(f"\nblocks: worlds {', '.join(map(str, args.seeds))}, every {args.every}th of {args.frames} "
                   f"frames ({sampled} each)")
        tqdm.write(_header("fraction", BLOCK_COLUMNS, "on a decoy"))
        for fraction in args.fractions:
            for seed in args.seeds:
                columns = DemoColumns({mode: pipeline_for(detector, library, mode, fraction) for mode in BLOCK_COLUMNS})
                tally, _ = tally_world(columns, seed, args.frames, args.every, bar)
                summary = tally.summary()
                tqdm.write(_row(f"{fraction:g}", seed, summary, f"{summary['with_decoys_targets_decoy']:.1%}"))
        if args.attack_frames:
            tqdm.write(f"\non-the-fly attacks: the first {args.attack_frames} frames of each world, every one")
            tqdm.write(_header("budget", {"none": "no defence"} | ATTACK_COLUMNS, "PGD frames/s"))
        for eps in args.budgets if args.attack_frames else ():
            for seed in args.seeds:
                pipelines = {"none": pipeline_for(detector, library, "none")} | {
                    mode: pipeline_for(detector, library, mode, attack_eps=eps) for mode in ATTACK_COLUMNS}
                tally, seconds = tally_world(DemoColumns(pipelines, shown="pgd"), seed, args.attack_frames, 1, bar)
                fps = f"{args.attack_frames / seconds:.1f}"
                tqdm.write(_row(f"{round(eps * 255)}/255", seed, tally.summary(), fps))


def _header(first: str, columns: dict, last: str) -> str:
    return f"{first:<10}{'world':<8}{'frames':>7}" + "".join(f"{name:>22}" for name in columns.values()) + f"{last:>14}"


def _row(first: str, world: int, summary: dict, last: str) -> str:
    honest, box = summary["targets_real_chicken"], summary["targets_real_chickens_box_only"]
    cells = [f"{honest[key]:.1%} ({box[key]:.1%})" for key in honest]
    start = f"{first:<10}{world:<8}{summary['frames_with_chicken']:>7}"
    return start + "".join(f"{c:>22}" for c in cells) + f"{last:>14}"
