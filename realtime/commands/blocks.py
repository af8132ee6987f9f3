"""`saviour blocks generate` and `saviour blocks list`."""

from __future__ import annotations

import argparse

from tqdm import tqdm

from blocks.choices import HUNTER, PATCH, PURPOSES
from blocks.generate import DEFAULT_TARGET, check_target, generate_block, measured_at
from blocks.library import BlockLibrary
from engine.detection.hunter import HunterDetector, bgr_to_tensor
from engine.device import resolve_device
from engine.errors import SaviourError
from engine.models import HUNTER_LABELS
from engine.models.checkpoint import state_sha256
from farm.patches import world_patches, world_scenes
from realtime.commands.patch import generate_patch
from realtime.commands.setup import load_hunter, load_imagenet_model, load_library
from realtime.io.video import prepare_folder

BLOCK_SEEDS = range(100, 130)         # worlds the EOT optimiser places blocks on (the hunter never saw them)
BLOCK_TEST_SEEDS = range(3000, 3005)  # worlds a block's success rate is measured on
BLOCK_STEPS = 300                     # eps values (sweep) or Adam steps (eot)


def _camouflage_scenes(model, args: argparse.Namespace):
    """Training and held-out camouflage scenes: chickens of the block worlds as the pipeline covers them."""
    detector = HunterDetector(model)
    with tqdm(total=len(BLOCK_SEEDS) + len(BLOCK_TEST_SEEDS), desc="scenes", unit="world") as bar:
        return (world_scenes(detector, BLOCK_SEEDS, seed=args.seed, progress=bar),
                world_scenes(detector, BLOCK_TEST_SEEDS, seed=args.seed + 1, progress=bar))


def blocks_generate(args: argparse.Namespace) -> None:
    if args.purpose == PATCH or args.model != HUNTER:
        return generate_patch(args)
    model, hunter_sha256 = load_hunter(args.weights, resolve_device(args.device))
    for p in model.parameters():
        p.requires_grad_(False)
    target = args.target or DEFAULT_TARGET[args.purpose]
    check_target(args.purpose, target, model.labels)
    if not -1 <= args.eps < 0:
        raise SaviourError(f"--eps must be in [-1, 0), got {args.eps}")
    out = prepare_folder(args.out)   # before the optimisation, so a bad --out does not waste it
    existing = any(out.iterdir())
    library = load_library(out, model, hunter_sha256) if existing else BlockLibrary([])
    background = HUNTER_LABELS.index(PURPOSES[args.purpose])   # a world class: picks the windows to paste on
    device = next(model.parameters()).device
    train_x, train_y = world_patches(BLOCK_SEEDS, frames_per_world=6, seed=args.seed)
    test_x, test_y = world_patches(BLOCK_TEST_SEEDS, frames_per_world=6, seed=args.seed + 1)
    backgrounds = bgr_to_tensor(train_x[train_y == background], device)
    held_out = bgr_to_tensor(test_x[test_y == background], device)
    scenes = _camouflage_scenes(model, args) if args.purpose == "camouflage" and args.method == "eot" else None
    plot = out / f"sweep-{args.purpose}-{target}.png" if args.method == "sweep" else None
    steps = args.steps or BLOCK_STEPS
    total = steps + (args.scene_steps if scenes else 0) if args.method == "eot" else 0
    with tqdm(total=total, desc="optimise", unit="step") as bar:
        block = generate_block(model, args.purpose, target, args.method, backgrounds, held_out,
                               hunter_sha256, eps=args.eps, steps=steps, seed=args.seed, plot_path=plot,
                               progress=bar, scenes=scenes, scene_steps=args.scene_steps, fractions=args.fractions,
                               border=args.border)
    library.put(block)
    library.save(out)
    print(f"{block.file}: {block.purpose} -> {block.target}, clean p = {block.clean_probability:.3f}, "
          f"success under random placement {block.success_rate:.1%} ({len(held_out)} held-out windows)")
    if block.scene_success_rate is not None:
        print(f"covering chickens as the pipeline does ({measured_at(args.fractions):g} of the box): "
              f"{block.scene_success_rate:.1%} "
              f"of {len(scenes[1])} held-out chicken views no longer seen as chickens")
    if plot is not None:
        print(f"sweep plot: {plot}")
    print(f"library {out}: {len(library)} block(s)")


def blocks_list(args: argparse.Namespace) -> None:
    if args.model != HUNTER:    # an ImageNet model's patches
        model = load_imagenet_model(args.model, "cpu")
        hunter_sha256 = state_sha256(model)
        library = BlockLibrary.load(args.library, model.labels, model.input_size, hunter_sha256, model=args.model)
        these = args.model
    else:
        hunter, hunter_sha256 = load_hunter(args.weights, "cpu")
        library = load_library(args.library, hunter, hunter_sha256)
        these = "the shipped hunter" if args.weights == "hunter" else args.weights
    print(f"library {args.library}: {len(library)} block(s)")
    print(f"{'file':<40}{'purpose':<15}{'target':<9}{'method':<8}{'clean p':>8}{'success':>9}"
          f"{'on chickens':>13}  made for")
    for b in library.blocks:
        scene = "" if b.scene_success_rate is None else f"{b.scene_success_rate:.1%}"
        made_for = these if b.hunter_sha256 == hunter_sha256 else f"other weights ({b.hunter_sha256[:12]}...)"
        print(f"{b.file:<40}{b.purpose:<15}{b.target:<9}{b.method:<8}{b.clean_probability:>8.3f}"
              f"{b.success_rate:>9.1%}{scene:>13}  {made_for}")
