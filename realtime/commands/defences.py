"""`saviour evaluate-defences`: every defence of the demo over thousands of frames of unseen worlds.

The demo's 300 frames are a sample; this runs the same columns (no defence, camouflage blocks,
their shuffled control, plain grey squares, decoys, on-the-fly FGSM) on every `every`-th frame of
several worlds, at several block sizes, and counts the frames whose target is a real chicken (its
box or the block on it: `demo.on_chicken`), beside the count by the chicken's box alone.
"""

from __future__ import annotations

import argparse
from collections import deque

from tqdm import tqdm

from engine.detection.hunter import HunterDetector
from engine.device import resolve_device
from farm.world import FarmWorld
from realtime.commands.demo import MODES, DemoColumns, DemoTally
from realtime.commands.setup import load_hunter, load_library
from realtime.pipeline.defended import pipeline_for
from realtime.pipeline.runner import run

COLUMNS = {"none": "no defence", "camouflage": "camouflage", "control": "shuffled control",
           "occlusion": "grey square", "decoys": "decoys", "fgsm": "FGSM"}


def tally_world(detector, library, seed: int, frames: int, every: int, fraction: float, progress) -> DemoTally:
    """Every `every`-th of `frames` frames of world `seed` through every column, at block `fraction`."""
    columns = DemoColumns({mode: pipeline_for(detector, library, mode, fraction) for mode in MODES})
    world, animals, tally = FarmWorld(seed=seed, frames=frames), deque(), DemoTally(columns.pipelines)

    def world_frames():
        for i in range(0, frames, every):
            frame, seen = world.render(i)
            animals.append(seen)
            yield frame

    def count(item) -> None:
        tally.add(item[0], animals.popleft())
        progress.update()

    run(world_frames(), columns, [count])
    return tally


def evaluate_defences(args: argparse.Namespace) -> None:
    hunter, hunter_sha256 = load_hunter(args.weights, resolve_device(args.device))
    library = load_library(args.library, hunter, hunter_sha256)
    detector = HunterDetector(hunter)
    sampled = len(range(0, args.frames, args.every))
    print(f"worlds {', '.join(map(str, args.seeds))}: every {args.every}th of {args.frames} frames ({sampled} each), "
          "frames with a chicken in view; the target on a real chicken (its box or the block on it), "
          "and by its box alone")
    print(f"{'fraction':<10}{'world':<8}{'frames':>7}" + "".join(f"{name:>22}" for name in COLUMNS.values())
          + f"{'on a decoy':>12}")
    with tqdm(total=sampled * len(args.seeds) * len(args.fractions), desc="frames", unit="frame", leave=False) as bar:
        for fraction in args.fractions:
            for seed in args.seeds:
                summary = tally_world(detector, library, seed, args.frames, args.every, fraction, bar).summary()
                tqdm.write(_row(f"{fraction:g}", str(seed), summary))


def _row(fraction: str, world: str, summary: dict) -> str:
    honest, box = summary["targets_real_chicken"], summary["targets_real_chickens_box_only"]
    cells = [f"{honest[key]:.1%} ({box[key]:.1%})" for key in honest]
    return (f"{fraction:<10}{world:<8}{summary['frames_with_chicken']:>7}" + "".join(f"{c:>22}" for c in cells)
            + f"{summary['with_decoys_targets_decoy']:>12.1%}")
