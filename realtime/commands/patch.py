"""`saviour blocks generate --purpose patch`: a universal adversarial patch for an ImageNet model."""

from __future__ import annotations

import argparse
from pathlib import Path

from tqdm import tqdm

from blocks.choices import HUNTER, PATCH, PATCH_STEPS, PATCH_TARGET
from blocks.library import BlockLibrary
from blocks.patch import PatchPlacement
from blocks.patch_block import make_patch, plot_report
from engine.detection.evidence import CLASS_MAP
from engine.detection.hunter import bgr_to_tensor
from engine.device import resolve_device
from engine.errors import SaviourError
from engine.images import image_files, read_crops
from engine.models.checkpoint import state_sha256
from realtime.commands.setup import class_index, load_imagenet_model
from realtime.io.video import prepare_folder


def _checked(args: argparse.Namespace) -> None:
    """The flag combinations a patch needs, before anything is loaded."""
    if args.purpose != PATCH:
        raise SaviourError(f"--model {args.model} makes patches: add --purpose patch (the other purposes are the "
                           "hunter's blocks)")
    if args.model == HUNTER:
        raise SaviourError("--purpose patch needs an ImageNet --model, such as efficientnet_lite0")
    if args.images is None:
        raise SaviourError("--purpose patch needs --images DIR, a folder of photos to train and measure it on")
    if args.untargeted and args.target is not None:
        raise SaviourError(f"--untargeted and --target {args.target}: choose one")


def generate_patch(args: argparse.Namespace) -> None:
    _checked(args)
    files = image_files(args.images)
    if len(files) < 2:
        raise SaviourError(f"{args.images}: a patch needs at least 2 images (every 5th is held out), found 1")
    model = load_imagenet_model(args.model, resolve_device(args.device))
    target = None if args.untargeted else class_index(model, args.target or PATCH_TARGET)
    protected = [model.labels.index(name) for name in CLASS_MAP["chicken"]]
    out = prepare_folder(args.out)
    weights = state_sha256(model)
    library = (BlockLibrary.load(out, model.labels, model.input_size, weights, model=args.model)
               if any(out.iterdir()) else BlockLibrary([]))
    for p in model.parameters():
        p.requires_grad_(False)
    with tqdm(total=len(files), desc="images", unit="image", leave=False) as bar:
        crops, _ = read_crops(files, model.input_size, model.resize_size, bar)
    images = bgr_to_tensor(crops, next(model.parameters()).device)
    steps = args.steps or PATCH_STEPS
    with tqdm(total=steps, desc="optimise", unit="step") as bar:
        block, report = make_patch(model, args.model, weights, images, target, protected, steps, args.seed, bar,
                                   PatchPlacement(area=tuple(args.area)))
    library.put(block)
    library.save(out)
    plot = out / f"{Path(block.file).stem}-success.png"
    goal = f"top-1 {block.target}" if target is not None else "top-1 no longer hen or cock"
    plot_report(report, f"{args.model}, {goal}: {report.images} held-out images", plot)
    print(f"{block.file}: {args.model}, {goal}; on {report.images} held-out images:")
    print(report.table())
    print(f"wrote {out / block.file}, {plot.name}; library {out}: {len(library)} patch(es) for {args.model}")
