"""What the commands share: loading the hunter and its block library, building the detector."""

from __future__ import annotations

import argparse

import torch

from blocks.choices import DEFAULT_LIBRARY
from blocks.library import BlockLibrary
from engine.detection.hunter import HunterDetector
from engine.device import resolve_device
from engine.errors import SaviourError
from engine.models import file_sha256, load_classifier, weights_file
from engine.models.torchvision_models import PREFIX as TORCHVISION_PREFIX


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


def class_index(model, text: str | None) -> int | None:
    """A class given by name or index, checked against the model's labels."""
    if text is None:
        return None
    if text in model.labels:
        return model.labels.index(text)
    if text.isdigit() and int(text) < len(model.labels):
        return int(text)
    raise SaviourError(f"--target {text}: not a class of this model ({listed_classes(model.labels)})")


def listed_classes(labels) -> str:
    """Class names for a message; ImageNet's thousand are shortened."""
    if len(labels) <= 12:
        return ", ".join(labels)
    return f"{', '.join(labels[:6])}, ... {len(labels)} classes; an index 0-{len(labels) - 1} works too"
