"""Saving and loading classifier checkpoints, with clear errors for wrong or corrupt files.

A checkpoint is a plain dict {"arch", "labels", "state_dict"} saved with `torch.save` and read with
`weights_only=True`. Shipped weights live in `engine/models/weights/` with their SHA-256 beside them.
"""

from __future__ import annotations

import hashlib
import io
import pickle
import warnings
from pathlib import Path

import torch
from torch import nn

from engine.device import resolve_device
from engine.errors import SaviourError
from engine.files import write_atomically
from engine.models.farm import FarmClassifier
from engine.models.hunter import Hunter
from engine.models.timm_models import LITE0, load_efficientnet_lite0, load_timm
from engine.models.timm_models import PREFIX as TIMM_PREFIX
from engine.models.torchvision_models import PREFIX as TORCHVISION_PREFIX
from engine.models.torchvision_models import load_torchvision

ARCHITECTURES = {"hunter": Hunter, "farm": FarmClassifier}
IMAGENET_MODELS = {LITE0: load_efficientnet_lite0}     # real-world models whose weights install with the project
KNOWN_MODELS = (*ARCHITECTURES, *IMAGENET_MODELS, f"{TORCHVISION_PREFIX}NAME", f"{TIMM_PREFIX}NAME")
ZIP_MAGIC, PICKLE_MAGIC = b"PK\x03\x04", b"\x80"   # how torch.save's archive and a legacy pickle begin
WEIGHTS_DIR = Path(__file__).parent / "weights"


def shipped_weights(name: str) -> Path:
    """Path of a classifier's shipped weights, e.g. `shipped_weights("hunter")`."""
    return WEIGHTS_DIR / f"{name}.pt"


def weights_file(name_or_path: str | Path) -> Path:
    """The file behind a classifier name: a shipped name ("hunter", "farm") or a checkpoint path."""
    name = str(name_or_path)
    return shipped_weights(name) if name in ARCHITECTURES else Path(name)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def save_checkpoint(model: nn.Module, arch: str, path: Path) -> str:
    """Save `model` as a checkpoint at `path` (atomically) and write its SHA-256 beside it; return the hash."""
    path = Path(path)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    # saved through a buffer: a file would name the archive after itself, so the SHA would depend on the path
    buffer = io.BytesIO()
    torch.save({"arch": arch, "labels": list(model.labels), "state_dict": state}, buffer)
    write_atomically(path, buffer.getvalue())
    digest = file_sha256(path)
    write_atomically(path.with_name(path.name + ".sha256"), f"{digest}  {path.name}\n")
    return digest


def load_classifier(name_or_path: str | Path, device: str | torch.device = "auto", pretrained: bool = True) -> nn.Module:
    """Load a classifier in eval mode: a shipped name ("hunter", "farm"), the installed ImageNet
    model "efficientnet_lite0", a checkpoint file, or a torchvision or timm model as "torchvision:NAME"
    or "timm:NAME" (ImageNet weights, downloaded on first use). `pretrained=False` gives the ImageNet
    models random weights.

    The module carries `labels` (class names) and `input_size` (input side in pixels).

    Raises:
        SaviourError: the file is missing, corrupt, not a checkpoint, or of another architecture.
    """
    name = str(name_or_path)
    if name in IMAGENET_MODELS:
        return IMAGENET_MODELS[name](pretrained).to(resolve_device(device))
    for prefix, load in ((TORCHVISION_PREFIX, load_torchvision), (TIMM_PREFIX, load_timm)):
        if name.startswith(prefix):
            return load(name[len(prefix):], pretrained).to(resolve_device(device))
    path = weights_file(name_or_path)
    checkpoint = _read(path)
    if str(name_or_path) in ARCHITECTURES:
        _verify_shipped(path)
    arch = checkpoint.get("arch", "hunter")
    if arch not in ARCHITECTURES:
        raise SaviourError(f"{path}: unknown architecture {arch!r} (known: {', '.join(ARCHITECTURES)})")
    architecture, labels = ARCHITECTURES[arch], checkpoint.get("labels")
    options = {"labels": labels} if labels else {}
    model = (architecture.fitting(checkpoint["state_dict"], **options) if hasattr(architecture, "fitting")
             else architecture(**options))
    mismatch = _mismatch(model.state_dict(), checkpoint["state_dict"])
    if mismatch:
        raise SaviourError(f"{path}: weights do not fit the {arch} architecture ({mismatch})")
    model.load_state_dict(checkpoint["state_dict"])
    return model.to(resolve_device(device)).eval()


def _mismatch(expected: dict, found: dict) -> str | None:
    """How a state_dict differs from the model's, in a few words; None when it fits."""
    missing = [k for k in expected if k not in found]
    unexpected = [k for k in found if k not in expected]
    if missing or unexpected:
        example = f"missing {missing[0]}" if missing else f"unexpected {unexpected[0]}"
        return f"{len(missing)} missing and {len(unexpected)} unexpected tensors, e.g. {example}"
    for key, tensor in expected.items():
        if not isinstance(found[key], torch.Tensor) or found[key].shape != tensor.shape:
            shape = tuple(getattr(found[key], "shape", ()))
            return f"{key} is {shape} in the file, {tuple(tensor.shape)} in the model"
    return None


def _read(path: Path) -> dict:
    if not path.is_file():
        raise SaviourError(f"{path}: no such weights file, nor a known model (known: {', '.join(KNOWN_MODELS)})")
    with open(path, "rb") as file:
        header = file.read(4)
    if not header.startswith((ZIP_MAGIC, PICKLE_MAGIC)):
        raise SaviourError(f"{path}: not a PyTorch checkpoint (neither the zip archive torch.save writes "
                           "nor a legacy pickle)")
    try:
        with warnings.catch_warnings():   # torch's notes on a damaged file's pickle protocol: ours says it
            warnings.simplefilter("ignore", UserWarning)
            checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, OSError) as error:
        raise SaviourError(f"{path}: not a readable PyTorch checkpoint ({_load_failure(error)})") from None
    if isinstance(checkpoint, dict) and "state_dict" not in checkpoint and all(
            isinstance(v, torch.Tensor) for v in checkpoint.values()):
        checkpoint = {"state_dict": checkpoint}   # a bare state_dict, as torch.save(model.state_dict()) writes
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("state_dict"), dict):
        raise SaviourError(f"{path}: not a classifier checkpoint (expected a state_dict)")
    return checkpoint


def _load_failure(error: Exception) -> str:
    """Why torch.load refused a file, in a few words: only a pickled Python object (a whole model, a
    class of the user's) is refused for safety; anything else is damage."""
    text = str(error).strip()
    if "Unsupported global" in text:
        return "it holds pickled Python objects, which are not loaded for safety; save model.state_dict()"
    if text.startswith(("Weights only load failed", "PytorchStreamReader failed")):
        return "its data is damaged or cut off"
    return (text.splitlines()[0] if text else type(error).__name__)[:120]


def _verify_shipped(path: Path) -> None:
    recorded = path.with_name(path.name + ".sha256").read_text().split()[0]
    if file_sha256(path) != recorded:
        raise SaviourError(f"{path}: SHA-256 does not match {path.name}.sha256; reinstall the package")


def state_sha256(model: nn.Module) -> str:
    """The SHA-256 of a model's weights (every tensor of its state dict, by name, in a fixed layout):
    what a patch records of the model it was made for, whatever file the weights came from."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()
