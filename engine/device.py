"""Choosing the torch device from an `auto|cpu|cuda` setting, and what the CPU computes in itself."""

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


# CPU flags (Linux /proc/cpuinfo) of instructions that compute in a reduced precision; without them
# oneDNN emulates it, and autocast to it runs slower than float32
_NATIVE_FLAGS = {torch.bfloat16: {"avx512_bf16", "amx_bf16"}, torch.float16: {"avx512_fp16", "amx_fp16"}}


def cpu_computes_in(dtype: torch.dtype) -> bool:
    """Whether this CPU has instructions for `dtype` (bf16: AVX512-BF16 or AMX; fp16: AVX512-FP16 or
    AMX-FP16), where autocast to it pays off. False where it cannot tell (not Linux)."""
    return bool(_NATIVE_FLAGS.get(dtype, set()) & set((cpuinfo("flags") or "").split()))


def cpuinfo(field: str) -> str | None:
    """The first value of `field` in /proc/cpuinfo (Linux), or None."""
    try:
        with open("/proc/cpuinfo") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith(field)), None)
    except OSError:
        return None
