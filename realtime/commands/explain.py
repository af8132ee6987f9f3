"""What the explanation subcommands do: train-farm, explain, attack-explanation."""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np
import torch
from tqdm import tqdm

from engine.choices import DEFAULT_METHODS
from engine.detection.hunter import bgr_to_tensor
from engine.device import cpu_computes_in, resolve_device
from engine.errors import SaviourError, warn
from engine.explain import METHODS, generate_masks
from engine.explain.attack import ExplanationAttack, away_target, centre_target
from engine.explain.masks import check_mask_settings
from engine.explain.methods import ClassEvidence
from engine.images import evenly_spread, image_files
from engine.models import FARM_LABELS, FarmClassifier, load_classifier, save_checkpoint
from engine.models.imagenet import ImageNetClassifier
from engine.models.torchvision_models import PREFIX as TORCHVISION_PREFIX
from engine.train import accuracy, fit
from farm.crops import world_crops
from realtime.commands.pair_attack import fixed_masks, pair_attack
from realtime.commands.setup import class_index, listed_classes
from realtime.io.video import prepare_folder, prepare_output
from realtime.reports.attack import (
    attack_samples,
    markdown_summary,
    write_attack_report,
)
from realtime.reports.explain import (
    Sample,
    explain_samples,
    markdown_table,
    write_report,
)

FARM_TRAIN_SEEDS = range(200, 300)
FARM_VALIDATION_SEEDS = range(6000, 6010)
EXPLAIN_SEED = 7000        # the world whose crops explanations are scored on; never trained on
AUTOCAST = {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}
FARM_ATTACK_STEPS, FARM_ATTACK_LR = 200, 0.002
PAPER_ROWS_PER_STEP = 8    # the RISE paper's evaluation removes or inserts 224 x 8 pixels a step


def train_farm(args: argparse.Namespace) -> None:
    if not 1 <= args.worlds <= len(FARM_TRAIN_SEEDS):
        raise SaviourError(f"--worlds must be in [1, {len(FARM_TRAIN_SEEDS)}], got {args.worlds}")
    out = prepare_output(args.out)
    device = resolve_device(args.device)
    with tqdm(total=args.worlds + len(FARM_VALIDATION_SEEDS), desc="crops", unit="world") as bar:
        train = world_crops(FARM_TRAIN_SEEDS[:args.worlds], seed=args.seed, progress=bar)
        held_out = world_crops(FARM_VALIDATION_SEEDS, seed=args.seed + 1, progress=bar)
    torch.manual_seed(args.seed)
    model = FarmClassifier().to(device)
    print(f"training on {len(train)} crops: " + ", ".join(
        f"{name} {n}" for name, n in zip(model.labels, np.bincount(train.labels, minlength=len(model.labels)))))
    batch_size = 128
    with tqdm(total=args.epochs * -(-len(train) // batch_size), desc="train", unit="batch") as bar:
        fit(model, train.images, train.labels, epochs=args.epochs, batch_size=batch_size, lr=3e-3,
            seed=args.seed, removal=args.removal, progress=bar)
    digest = save_checkpoint(model, "farm", out)
    result = accuracy(model, held_out.images, held_out.labels)
    print(f"held-out accuracy: {result['overall']:.4f} (" + ", ".join(
        f"{name} {result[name]:.3f}" for name in model.labels if name in result) + ")")
    print(f"wrote {out} (sha256 {digest[:16]}...)")


def explain(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    autocast = AUTOCAST[args.autocast]
    if autocast is not None and device.type == "cpu" and not cpu_computes_in(autocast):
        warn(f"this CPU has no {args.autocast} instructions: --autocast {args.autocast} runs slower than float32 here")
    model = _load_model(args, device)
    imagenet = isinstance(model, ImageNetClassifier)
    methods = _methods(args.methods or ",".join(DEFAULT_METHODS["imagenet" if imagenet else "farm"]))
    if "evidence" in methods:
        ClassEvidence.check(model)
    check_mask_settings(args.n, args.s, args.p1, (model.input_size, model.input_size))
    target = class_index(model, args.target)
    samples = _samples(args, model, target)
    # ImageNet models: the RISE paper's evaluation, 8 image rows' worth of pixels a step
    curve_steps = args.curve_steps or (model.input_size // PAPER_ROWS_PER_STEP if imagenet else None)
    prepare_folder(args.out)
    masks = generate_masks(args.n, args.s, args.p1, (model.input_size, model.input_size),
                           generator=torch.Generator().manual_seed(args.seed), device=device, sampler=args.masks)
    settings = {"masks": masks, "p1": args.p1, "batch_size": args.batch_size, "autocast": autocast,
                "estimator": args.estimator}
    with tqdm(total=len(samples), desc="explain", unit="image") as bar:
        report = explain_samples(model, samples, methods, settings, device, seed=args.seed, progress=bar,
                                 curve_steps=curve_steps)
    rise = (f"N={args.n} s={args.s} p1={args.p1}, {args.estimator} estimator, {args.masks} masks"
            + (f", {args.autocast} autocast" if autocast else ""))
    context = {"weights": args.weights, "images": len(samples), "rise": rise,
               "deletion/insertion steps": curve_steps or "one per image row",
               "source": _source(args)}
    table = write_report(report, model.labels, Path(args.out), context)
    print(markdown_table(table))
    print(f"wrote {args.out}/report.md, report.json, figure.png")


def _load_model(args: argparse.Namespace, device: torch.device) -> torch.nn.Module:
    if args.random_weights and not args.weights.startswith(TORCHVISION_PREFIX):
        raise SaviourError(f"--random-weights is for {TORCHVISION_PREFIX}NAME models, not --weights {args.weights}")
    return load_classifier(args.weights, device=device, pretrained=not args.random_weights)


def _methods(text: str) -> list[str]:
    methods = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise SaviourError(f"--methods: unknown method {', '.join(unknown) or '(none)'} (known: {', '.join(METHODS)})")
    return methods


def _samples(args, model, target: int | None) -> list[Sample]:
    if args.image and args.images:
        raise SaviourError("give image files (--image) or a folder (--images), not both")
    if args.images:
        files = image_files(args.images)
        return _image_samples([str(f) for f in evenly_spread(files, args.limit)], model, target)
    return _image_samples(args.image, model, target) if args.image else _crop_samples(args, model, target)


def _source(args) -> str:
    if args.images:
        return f"{args.images}: {args.limit} photos, evenly spread by name"
    return ", ".join(args.image) if args.image else f"world seed {args.seed} crops"


def _crop_samples(args, model, target: int | None) -> list[Sample]:
    """World crops at the model's input size, each explained for its true class unless `target` is given."""
    # a frame gives about two eligible animals, so this many frames is plenty
    crops = world_crops([args.seed], frames_per_world=min(1200, max(4, args.crops)), size=model.input_size,
                        seed=args.seed)
    count = min(args.crops, len(crops))
    return [Sample(crops.images[i], _true_class(model, crops.labels[i]) if target is None else target,
                   crops.boxes[i], f"crop {i}") for i in range(count)]


def _true_class(model, crop_label: int) -> int:
    name = FARM_LABELS[crop_label]
    if name not in model.labels:
        raise SaviourError(f"the crops show a {name}, which is not a class of this model "
                           f"({listed_classes(model.labels)}); give --target or --image files")
    return model.labels.index(name)


def _image_samples(paths: list[str], model, target: int | None) -> list[Sample]:
    size = model.input_size
    samples = []
    for path in paths:
        if not Path(path).is_file():   # checked first: OpenCV would also print a warning of its own
            raise SaviourError(f"{path}: not a readable image (no such file)")
        image = cv2.imread(path, cv2.IMREAD_COLOR)
        if image is None:
            raise SaviourError(f"{path}: not a readable image")
        image = _fitted(image, size, getattr(model, "resize_size", None))
        explained = target
        if explained is None:
            with torch.no_grad():
                explained = int(model(bgr_to_tensor([image], next(model.parameters()).device)).argmax())
        samples.append(Sample(image, explained, None, Path(path).name))
    return samples


def _fitted(image: np.ndarray, size: int, resize_size: int | None) -> np.ndarray:
    """An image at the model's input size: stretched, or, for models with a `resize_size` (torchvision's),
    fitted as their preset does: the short side resized to it, then centre-cropped."""
    if resize_size is None:
        return cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA)
    height, width = image.shape[:2]
    scale = resize_size / min(height, width)
    shape = (max(size, round(width * scale)), max(size, round(height * scale)))
    image = cv2.resize(image, shape, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    top, left = (shape[1] - size) // 2, (shape[0] - size) // 2
    return np.ascontiguousarray(image[top:top + size, left:left + size])


def attack_explanation(args: argparse.Namespace) -> None:
    device = resolve_device(args.device)
    model = _load_model(args, device)
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    if args.images:
        return pair_attack(args, model, device)
    args.steps, args.lr = args.steps or FARM_ATTACK_STEPS, args.lr or FARM_ATTACK_LR
    size = (model.input_size, model.input_size)
    masks = fixed_masks(args, model, device) if args.method == "rise" else None
    attack = ExplanationAttack(method=args.method, eps=args.eps, steps=args.steps, lr=args.lr, gamma=args.gamma,
                               masks=masks, batch_size=args.batch_size, map_loss=args.map_loss)
    target = class_index(model, args.target)
    samples = _image_samples(args.image, model, target) if args.image else _crop_samples(args, model, target)
    targets = [_target_map(args.target_map, sample, size) for sample in samples]
    prepare_folder(args.out)
    with tqdm(total=len(samples) * args.steps, desc="attack", unit="step") as bar:
        rows, shown = attack_samples(model, samples, targets, attack, device, progress=bar)
    context = {"weights": args.weights, "method": args.method, "eps": f"{args.eps * 255:.1f}/255",
               "steps": args.steps, "map loss": args.map_loss,
               "target map": args.target_map or "away from the object (crops) / centre",
               "source": ", ".join(args.image) if args.image else f"world seed {args.seed} crops"}
    result = write_attack_report(rows, shown, Path(args.out), context)
    print(markdown_summary(result))
    print(f"wrote {args.out}/report.md, report.json, figure.png")


def _target_map(choice: str | None, sample: Sample, size) -> torch.Tensor:
    if choice == "centre" or (choice is None and sample.box is None):
        return centre_target(size)
    if choice in (None, "away"):
        if sample.box is None:
            raise SaviourError("--target-map away needs an object box: use it on farm-world crops, or centre / a file")
        return away_target(size, sample.box)
    image = cv2.imread(choice, cv2.IMREAD_GRAYSCALE) if Path(choice).is_file() else None
    if image is None:
        raise SaviourError(f"--target-map {choice}: not 'centre', 'away' or a readable image")
    target = torch.from_numpy(cv2.resize(image, size[::-1], interpolation=cv2.INTER_AREA).astype(np.float32))
    if target.max() <= 0:
        raise SaviourError(f"--target-map {choice}: the image is all black; heat must go somewhere")
    return target / target.max()
