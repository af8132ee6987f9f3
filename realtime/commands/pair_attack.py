"""`saviour attack-explanation --model M --images DIR --pairs N`: Dombrowski et al.'s attack on real photos."""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from tqdm import tqdm

from engine.detection.hunter import bgr_to_tensor
from engine.errors import SaviourError
from engine.explain import generate_masks
from engine.explain.masks import check_mask_settings
from engine.explain.pair_attack import PairAttack
from engine.images import evenly_spread, image_files, read_crops
from engine.models.imagenet import ImageNetClassifier
from realtime.io.video import prepare_folder
from realtime.reports.pair_attack import FIGURE_PAIRS, Photo, attack_pair, markdown_table, write_pair_report

PAIR_STEPS, PAIR_LR = 1500, 2e-4     # theirs


def pair_attack(args: argparse.Namespace, model, device: torch.device) -> None:
    if not isinstance(model, ImageNetClassifier):
        raise SaviourError(f"--images attacks an ImageNet model's maps (such as --model efficientnet_lite0), "
                           f"not --weights {args.weights}")
    methods = _methods(args.methods)
    masks = fixed_masks(args, model, device) if "rise" in methods else None
    photos = _photos(args.images, 2 * args.pairs, model, device)
    pairs = [(photos[k], photos[k + len(photos) // 2]) for k in range(len(photos) // 2)]
    steps, lr = args.steps or PAIR_STEPS, args.lr or PAIR_LR
    attacks = {_variant(m, eps): PairAttack(m, steps=steps, lr=lr, eps=eps, masks=masks)
               for m in methods for eps in args.bounds}
    prepare_folder(args.out)
    rows, shown = [], []
    with tqdm(total=len(attacks) * len(pairs) * steps, desc="attack", unit="step") as bar:
        for variant, attack in attacks.items():
            for k, (photo, other) in enumerate(pairs):
                row, result = attack_pair(model, attack, photo, other, bar)
                rows.append({"variant": variant} | row)
                if k < FIGURE_PAIRS:
                    shown.append((variant, photo, other, result))
    context = {"model": args.weights, "pairs": len(pairs), "steps": steps, "lr": f"{lr:g} (normalised photo)",
               "loss": "1e11 MSE(maps) + 1e6 MSE(softmax outputs)", "softplus beta": "10 to 100",
               "source": f"{args.images}: {len(photos)} photos evenly spread by name, photo k with photo k + {len(pairs)}"}
    result = write_pair_report(rows, shown, Path(args.out), context)
    print(markdown_table(result))
    print(f"wrote {args.out}/report.md, report.json, figure.png")


def _methods(text: str) -> list[str]:
    from engine.choices import PAIR_METHODS

    methods = [m.strip() for m in text.split(",") if m.strip()]
    unknown = [m for m in methods if m not in PAIR_METHODS]
    if unknown or not methods:
        raise SaviourError(f"--methods: unknown method {', '.join(unknown) or '(none)'} "
                           f"(known with --images: {', '.join(PAIR_METHODS)})")
    return methods


def fixed_masks(args, model, device) -> torch.Tensor:
    """The attacked RISE maps' masks (--n, --s, p1 0.5, seeded by --seed), checked first."""
    size = (model.input_size, model.input_size)
    check_mask_settings(args.n, args.s, 0.5, size)
    return generate_masks(args.n, args.s, 0.5, size, generator=torch.Generator().manual_seed(args.seed), device=device)


def _photos(folder, count: int, model, device) -> list[Photo]:
    files = image_files(folder)
    if len(files) < 2:
        raise SaviourError(f"{folder}: pairs need at least 2 photos, found {len(files)}")
    chosen = evenly_spread(files, count)
    chosen = chosen[:len(chosen) // 2 * 2]
    crops, kept = read_crops(chosen, model.input_size, model.resize_size)
    images = bgr_to_tensor(crops, device)
    return [Photo(file.name, image) for file, image in zip(kept, images)]


def _variant(method: str, eps: float | None) -> str:
    return f"{method}, " + ("unbounded" if eps is None else f"L-inf {eps * 255:g}/255")
