"""What the commands share: loading the model (the hunter or an ImageNet classifier), its block library
and its detector."""

from __future__ import annotations

import argparse

import torch

from blocks.choices import DEFAULT_LIBRARY, HUNTER
from blocks.library import BlockLibrary
from engine.detection.evidence import EvidenceDetector
from engine.detection.hunter import HunterDetector
from engine.device import resolve_device
from engine.errors import SaviourError
from engine.models import ImageNetClassifier, file_sha256, load_classifier, weights_file
from engine.models.checkpoint import state_sha256
from engine.models.torchvision_models import PREFIX as TORCHVISION_PREFIX
from realtime.choices import HUNTER_MODES, PATCH_MODES


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


def make_detector(args: argparse.Namespace):
    """The detector the flags describe; checks every setting before any output is opened."""
    if getattr(args, "model", HUNTER) != HUNTER:
        return real_world(args, resolve_device(args.device))[0]
    classifier, _ = load_hunter(args.weights, resolve_device(args.device))
    return HunterDetector(classifier, scales=args.scales, stride=args.stride, threshold=args.threshold or 0.99,
                          min_size=args.min_size)


def load_imagenet_model(name: str, device) -> ImageNetClassifier:
    model = load_classifier(name, device=device)
    if not isinstance(model, ImageNetClassifier):
        raise SaviourError(f"--model {name}: not an ImageNet classifier (efficientnet_lite0, timm:NAME, "
                           "torchvision:NAME)")
    return model


def real_world(args: argparse.Namespace, device) -> tuple[EvidenceDetector, BlockLibrary]:
    """--model's class-evidence detector and the library's patches for it."""
    model = load_imagenet_model(args.model, device)
    detector = EvidenceDetector(model, threshold=getattr(args, "threshold", None) or 0.5)
    library = BlockLibrary.load(getattr(args, "library", None) or DEFAULT_LIBRARY, model.labels, model.input_size,
                                state_sha256(model), model=args.model)
    return detector, library


def detector_and_library(args: argparse.Namespace, device, mode: str | None = None):
    """The detector and block library --model names (the hunter, from --weights, or an ImageNet
    model), with `mode` checked against what that model can do; SaviourError before anything opens."""
    real = getattr(args, "model", HUNTER) != HUNTER
    if mode is not None and real and mode not in PATCH_MODES:
        raise SaviourError(f"--mode {mode} needs the hunter; with --model {args.model} use "
                           f"{', '.join(PATCH_MODES)}")
    if mode is not None and not real and mode not in HUNTER_MODES:
        raise SaviourError(f"--mode {mode} is for an ImageNet --model, such as efficientnet_lite0")
    if real:
        return real_world(args, device)
    hunter, hunter_sha256 = load_hunter(args.weights, device)
    library = load_library(getattr(args, "library", None), hunter, hunter_sha256)
    return HunterDetector(hunter, min_size=getattr(args, "min_size", None)), library


def live_heatmap(detector, **options):
    """The heatmap a detector's pipeline overlays: streaming RISE of the hunter's chicken evidence, or
    a class-evidence detector's own evidence map."""
    from realtime.pipeline.heatmap import EvidenceHeatmap, LiveHeatmap

    return EvidenceHeatmap() if isinstance(detector, EvidenceDetector) else LiveHeatmap(detector.classifier, **options)


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
