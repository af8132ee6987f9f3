"""Choosing the torch device from an `auto|cpu|cuda` setting."""

from __future__ import annotations

import torch

from engine.choices import DEVICE_CHOICES
from engine.errors import SaviourError


def resolve_device(name: str | torch.device = "auto") -> torch.device:
    """Return the torch device for `name`: auto picks CUDA when present, else the CPU."""
    if isinstance(name, torch.device):
        return name
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise SaviourError(f"--device {name}: CUDA is not available on this machine (use auto or cpu)")
    if name.split(":")[0] not in DEVICE_CHOICES:
        raise SaviourError(f"--device {name}: expected one of {', '.join(DEVICE_CHOICES)}")
    return torch.device(name)
