"""`saviour train-hunter` and `saviour evaluate`: train the hunter, measure it on farm worlds."""

from __future__ import annotations

import argparse
import math
import os

import numpy as np
import torch
from tqdm import tqdm

from engine.device import resolve_device
from engine.errors import SaviourError
from engine.models import HUNTER_LABELS, Hunter, save_checkpoint
from engine.train import accuracy, fit
from farm.evaluate import CONDITIONS, evaluate_detector
from farm.patches import folder_patches, world_patches
from realtime.commands.setup import make_detector
from realtime.io.video import prepare_output

VALIDATION_SEEDS = range(5000, 5010)
ACCURACY_SEEDS = range(2000, 2020)
PATCH_WORKERS = min(4, os.cpu_count() or 1)   # threads cutting training patches


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


