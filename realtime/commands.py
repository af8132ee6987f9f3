"""What each `saviour` subcommand does; argument parsing lives in realtime/cli.py."""

from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from blocks.generate import DEFAULT_TARGET, check_target, generate_block
from blocks.choices import DEFAULT_LIBRARY, PURPOSES
from blocks.library import BlockLibrary
from engine.detect import HunterDetector, aim, bgr_to_tensor
from engine.device import resolve_device
from engine.errors import SaviourError
from engine.models import HUNTER_LABELS, Hunter, file_sha256, load_classifier, save_checkpoint, weights_file
from engine.models.torchvision_models import PREFIX as TORCHVISION_PREFIX
from engine.train import accuracy, fit
from realtime.demo import run_demo
from realtime.evaluate import CONDITIONS, evaluate_detector
from realtime.overlay import hunter_view
from realtime.patches import folder_patches, world_patches, world_scenes
from realtime.pipeline import DefendedPipeline
from realtime.sources import open_source
from realtime.video import Mp4Writer, prepare_folder, prepare_output

VALIDATION_SEEDS = range(5000, 5010)
ACCURACY_SEEDS = range(2000, 2020)
BLOCK_SEEDS = range(100, 110)         # worlds the EOT optimiser places blocks on (the hunter never saw them)
BLOCK_TEST_SEEDS = range(3000, 3005)  # worlds a block's success rate is measured on
PATCH_WORKERS = min(4, os.cpu_count() or 1)   # threads cutting training patches
EXIT_SOURCE_LOST = 1


def load_hunter(weights: str, device) -> tuple[torch.nn.Module, str]:
    """The hunter ('hunter' for the shipped one, or a checkpoint file) and the SHA-256 of its weights
    file, which a block library records for the weights its blocks were made for."""
    if weights.startswith(TORCHVISION_PREFIX):
        raise SaviourError(f"{weights}: is not a hunter-style classifier (torchvision models are for "
                           "`saviour explain` and `saviour attack-explanation`)")
    hunter = load_classifier(weights, device=device)
    if not hasattr(hunter, "dense_logits"):
        raise SaviourError(f"{weights}: is not a hunter-style classifier (no dense detection)")
    return hunter, file_sha256(weights_file(weights))


def load_library(folder: str | None, hunter, hunter_sha256: str) -> BlockLibrary:
    """The block library at `folder` (default: the shipped one), checked against the hunter's classes;
    warns when its blocks were made for other weights."""
    return BlockLibrary.load(folder or DEFAULT_LIBRARY, hunter.labels, hunter.input_size, hunter_sha256)


def make_detector(args: argparse.Namespace) -> HunterDetector:
    """The detector the flags describe; checks every setting before any output is opened."""
    classifier, _ = load_hunter(args.weights, resolve_device(args.device))
    return HunterDetector(classifier, scales=args.scales, stride=args.stride, threshold=args.threshold,
                          min_size=args.min_size)


def detect(args: argparse.Namespace) -> None:
    prepare_output(args.out, ".mp4")
    detector = make_detector(args)
    source = open_source(args.source, frames=args.frames, seed=args.seed)
    with Mp4Writer(args.out, fps=source.fps, sound_of=source.sound) as video:
        for frame in tqdm(source, total=source.frames, desc="detect", unit="frame"):
            detections = detector(frame)
            video.write(hunter_view(frame, detections, aim(detections)))
    print(f"wrote {video.path} ({video.frames} frames)")


def train_hunter(args: argparse.Namespace) -> None:
    out = prepare_output(args.out)
    device = resolve_device(args.device)
    if args.patches:
        patches, labels, classes = folder_patches(args.patches)
        held_out = np.random.default_rng(args.seed).random(len(labels)) < 0.1
        train_x, train_y, test_x, test_y = patches[~held_out], labels[~held_out], patches[held_out], labels[held_out]
    else:
        classes = None
        with tqdm(total=args.worlds + len(VALIDATION_SEEDS), desc="patches", unit="world") as bar:
            train_x, train_y = world_patches(range(args.worlds), seed=args.seed, progress=bar, workers=PATCH_WORKERS)
            test_x, test_y = world_patches(VALIDATION_SEEDS, seed=args.seed + 1, progress=bar, workers=PATCH_WORKERS)
    torch.manual_seed(args.seed)
    model = Hunter(classes or HUNTER_LABELS, filters=args.filters).to(device)
    print(f"training on {len(train_y)} patches: " + ", ".join(
        f"{name} {n}" for name, n in zip(model.labels, np.bincount(train_y, minlength=len(model.labels)))))
    batches = args.epochs * -(-len(train_y) // 512)
    with tqdm(total=batches, desc="train", unit="batch") as bar:
        fit(model, train_x, train_y, epochs=args.epochs, batch_size=512, lr=5e-3, seed=args.seed,
            class_balance=args.class_balance, weight_decay=args.weight_decay, progress=bar)
    digest = save_checkpoint(model, "hunter", out)
    # beside the held-out line it tells too small a network (both low) from overfitting (only held-out low)
    print(f"training accuracy: {_accuracy_line(accuracy(model, train_x, train_y), model.labels)}")
    if len(test_y):
        print(f"held-out accuracy: {_accuracy_line(accuracy(model, test_x, test_y), model.labels)}")
    else:   # a tenth of a handful of images can be none
        print(f"held-out accuracy: none measured, {len(train_y)} images are too few to hold a tenth out")
    print(f"wrote {out} (sha256 {digest[:16]}...)")


def evaluate(args: argparse.Namespace) -> None:
    detector = make_detector(args)
    missing = [name for name in HUNTER_LABELS if name not in detector.labels]
    if missing:
        raise SaviourError(f"{args.weights}: has no class {', '.join(missing)} (it has {', '.join(detector.labels)}); "
                           f"evaluate scores the farm world's {', '.join(HUNTER_LABELS)}")
    with tqdm(total=len(ACCURACY_SEEDS), desc="patches", unit="world", leave=False) as bar:
        patches, world_labels = world_patches(ACCURACY_SEEDS, seed=2, progress=bar, workers=PATCH_WORKERS)
    labels = np.array([detector.labels.index(name) for name in HUNTER_LABELS])[world_labels]
    result = accuracy(detector.classifier, patches, labels)
    print(f"patch accuracy on world seeds {ACCURACY_SEEDS.start}-{ACCURACY_SEEDS.stop - 1}: "
          f"{_accuracy_line(result, detector.labels)}")
    width, height = args.size
    smallest = detector.min_size_for(height)
    print(f"\ndetection on world seed {args.seed}, {args.frames} frames of {width}x{height}, "
          f"animals >= {smallest:g} px tall and half visible")
    print(f"{'condition':<18}{'species':<9}{'recall':>8}{'precision':>11}{'animals':>9}{'detections':>12}")
    for name, options in CONDITIONS.items():
        with tqdm(total=args.frames, desc=name, unit="frame", leave=False) as bar:
            result = evaluate_detector(detector, args.seed, args.frames, min_height=smallest, progress=bar,
                                       size=args.size, **options)
        for species, t in result.tallies.items():
            print(f"{name:<18}{species:<9}{_rate(t.recall):>8}{_rate(t.precision):>11}{t.to_find:>9}{t.detected:>12}")


def _rate(value: float) -> str:
    """A recall or precision to 3 places; n/a when nothing was there to count (no animals, no detections)."""
    return "n/a" if math.isnan(value) else f"{value:.3f}"


def _accuracy_line(result: dict, labels) -> str:
    per_class = ", ".join(f"{name} {result[name]:.4f}" for name in labels if name in result)
    return f"{result['overall']:.4f} of {result['n']} ({per_class})"


def demo(args: argparse.Namespace) -> None:
    if not 0 < args.fgsm_eps <= 1:
        raise SaviourError(f"--fgsm-eps must be in (0, 1], e.g. 32/255, got {args.fgsm_eps}")
    hunter, hunter_sha256 = load_hunter(args.weights, resolve_device(args.device))
    library = load_library(args.library, hunter, hunter_sha256)
    summary = run_demo(HunterDetector(hunter), library, args.out, frames=args.frames, fraction=args.fraction,
                       heatmap=args.heatmap == "rise", fgsm_eps=args.fgsm_eps, cube=args.cube, seed=args.seed)
    shares = summary["targets_real_chicken"]
    print(f"frames with a chicken in view: {summary['frames_with_chicken']}")
    print("hunter targets a real chicken: " + ", ".join(f"{k.replace('_', ' ')} {v:.1%}" for k, v in shares.items()))
    print(f"with decoys the hunter targets a decoy: {summary['with_decoys_targets_decoy']:.1%}")
    if "mean_heat" in summary:
        print("mean heat: " + ", ".join(f"{k} {v:.3f}" for k, v in summary["mean_heat"].items()))
    print(f"wrote {Path(args.out) / 'demo.mp4'}, demo.gif, demo_summary.json")


def gif(args: argparse.Namespace) -> None:
    from realtime.gif_command import defended_frames, write_sized_gif

    checks = [(args.start >= 0, "--start must be at least 0"), (args.duration > 0, "--duration must be positive"),
              (args.fps > 0, "--fps must be positive"), (args.width >= 16, "--width must be at least 16 px"),
              (args.max_size is None or args.max_size > 0, "--max-size must be positive")]
    for ok, message in checks:
        if not ok:
            raise SaviourError(message)
    out = prepare_output(args.out, ".gif")
    hunter, hunter_sha256 = load_hunter(args.weights, resolve_device(args.device))
    library = load_library(args.library, hunter, hunter_sha256)
    pipeline = DefendedPipeline(HunterDetector(hunter, min_size=args.min_size), library, args.mode, args.fraction)
    frames, fps = defended_frames(pipeline, args.input, args.start, args.duration, args.fps, seed=args.seed)
    path, fps, width = write_sized_gif(frames, out, fps, args.width, args.max_size)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {fps:.1f} fps, {width} px wide)")


def live(args: argparse.Namespace) -> int:
    from realtime.live import LiveApp, LiveState, check_display, playback_pace
    from realtime.virtualcam import VirtualCamera

    if not args.no_window:
        check_display()   # before anything is loaded or opened
    camera = VirtualCamera(fps=30.0) if args.virtual_camera else None   # fails early when pyvirtualcam is missing
    if args.record:
        prepare_output(args.record, ".mp4")
    device = resolve_device(args.device)
    hunter, hunter_sha256 = load_hunter(args.weights, device)
    library = load_library(args.library, hunter, hunter_sha256)
    frames = args.max_frames if args.source != "world" else (args.max_frames or 10 ** 9)
    source = open_source(args.source, frames=frames, seed=args.seed, retries=args.retries)
    if camera is not None:
        camera.fps = source.fps
    state = LiveState(blocks=not args.no_blocks, decoys=args.decoys, heatmap=args.heatmap == "rise")
    detector = HunterDetector(hunter, min_size=args.min_size)
    try:
        app = LiveApp(detector, library, source, str(device), args.fraction, window=not args.no_window,
                      out_dir=args.out_dir, state=state, workers=args.workers,
                      virtual_camera=camera, pace=playback_pace(source, not args.no_window, args.fast))
    except SaviourError:
        source.close()
        raise
    try:
        app.run(max_frames=args.max_frames, record=args.record)
    finally:
        print(f"{app.frames} frames, {app.fps:.1f} FPS at the end, {source.dropped} dropped")
        if camera is not None and camera.sent:
            print(f"sent {camera.sent} frames to the virtual camera {camera.name}")
        for path in app.saved:
            print(f"wrote {path}")
    if getattr(source, "lost", False):   # what was recorded is kept, but the run did not end as asked
        print(f"saviour: error: {args.source}: the source was lost after {app.frames} frames", file=sys.stderr)
        return EXIT_SOURCE_LOST
    return 0


def bench(args: argparse.Namespace) -> None:
    from realtime.bench import run_bench

    if args.frames < 1 or args.rise_n < 1:
        raise SaviourError(f"--frames and --rise-n must be at least 1, got {args.frames} and {args.rise_n}")
    if args.soak < 0:
        raise SaviourError(f"--soak must be 0 (off) or a number of frames, got {args.soak}")
    run_bench(frames=args.frames, device=resolve_device(args.device), rise_n=args.rise_n, soak=args.soak,
              blocks=args.blocks)


def _camouflage_scenes(model, args: argparse.Namespace):
    """Training and held-out camouflage scenes: chickens of the block worlds as the pipeline covers them."""
    detector = HunterDetector(model)
    with tqdm(total=len(BLOCK_SEEDS) + len(BLOCK_TEST_SEEDS), desc="scenes", unit="world") as bar:
        return (world_scenes(detector, BLOCK_SEEDS, args.fraction, seed=args.seed, progress=bar),
                world_scenes(detector, BLOCK_TEST_SEEDS, args.fraction, seed=args.seed + 1, progress=bar))


def blocks_generate(args: argparse.Namespace) -> None:
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
    total = args.steps + (args.scene_steps if scenes else 0) if args.method == "eot" else 0
    with tqdm(total=total, desc="optimise", unit="step") as bar:
        block = generate_block(model, args.purpose, target, args.method, backgrounds, held_out,
                               hunter_sha256, eps=args.eps, steps=args.steps, seed=args.seed, plot_path=plot,
                               progress=bar, scenes=scenes, scene_steps=args.scene_steps, fraction=args.fraction)
    library.put(block)
    library.save(out)
    print(f"{block.file}: {block.purpose} -> {block.target}, clean p = {block.clean_probability:.3f}, "
          f"success under random placement {block.success_rate:.1%} ({len(held_out)} held-out windows)")
    if block.scene_success_rate is not None:
        print(f"covering chickens as the pipeline does ({args.fraction:g} of the box): {block.scene_success_rate:.1%} "
              f"of {len(scenes[1])} held-out chicken views no longer seen as chickens")
    if plot is not None:
        print(f"sweep plot: {plot}")
    print(f"library {out}: {len(library)} block(s)")


def blocks_list(args: argparse.Namespace) -> None:
    hunter, hunter_sha256 = load_hunter(args.weights, "cpu")
    library = load_library(args.library, hunter, hunter_sha256)
    these = "the shipped hunter" if args.weights == "hunter" else args.weights
    print(f"library {args.library}: {len(library)} block(s)")
    print(f"{'file':<32}{'purpose':<15}{'target':<9}{'method':<8}{'clean p':>8}{'success':>9}"
          f"{'on chickens':>13}  made for")
    for b in library.blocks:
        scene = "" if b.scene_success_rate is None else f"{b.scene_success_rate:.1%}"
        made_for = these if b.hunter_sha256 == hunter_sha256 else f"other weights ({b.hunter_sha256[:12]}...)"
        print(f"{b.file:<32}{b.purpose:<15}{b.target:<9}{b.method:<8}{b.clean_probability:>8.3f}"
              f"{b.success_rate:>9.1%}{scene:>13}  {made_for}")
