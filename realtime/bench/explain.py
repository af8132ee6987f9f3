"""Explanation benchmarks: our batched RISE against the source notebook's way, side by side.

The notebook built each mask with scikit-image on the CPU, multiplied masks and image in NumPy, and
sent batches through the model, collecting probabilities back in NumPy.
"""

from __future__ import annotations

import math
import time

import numpy as np
import torch
from skimage.transform import resize

from engine.explain import generate_masks, rise
from engine.explain.rise import DEFAULT_BATCH, autocast_context, masked_images

RISE_SIZE = (224, 224)
NOTEBOOK_BATCH = 100


def notebook_masks(n: int, s: int, p1: float, size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The notebook's mask loop: one scikit-image resize and crop per mask."""
    cell = math.ceil(size[0] / s), math.ceil(size[1] / s)
    up = (s + 1) * cell[0], (s + 1) * cell[1]
    grids = (rng.random((n, s, s)) < p1).astype(np.float32)
    masks = np.empty((n, *size), np.float32)
    for i in range(n):
        dy, dx = rng.integers(0, cell[0]), rng.integers(0, cell[1])
        masks[i] = resize(grids[i], up, order=1, mode="reflect", anti_aliasing=False)[dy:dy + size[0], dx:dx + size[1]]
    return masks


@torch.no_grad()
def notebook_rise(model, image: np.ndarray, n: int, s: int, p1: float, rng: np.random.Generator,
                  baseline: float | np.ndarray = 0.0) -> np.ndarray:
    """The notebook's RISE: NumPy masks and products, batches through the model, probabilities back in
    NumPy. Masked-out pixels take `baseline` (the notebook's normalised image: its zeros)."""
    masks = notebook_masks(n, s, p1, image.shape[:2], rng)
    probabilities = []
    for start in range(0, n, NOTEBOOK_BATCH):
        stack = masks[start:start + NOTEBOOK_BATCH, :, :, None] * (image - baseline)[None] + baseline
        batch = torch.from_numpy(np.ascontiguousarray(stack.transpose(0, 3, 1, 2)))
        probabilities.append(model(batch).softmax(1).numpy())
    probabilities = np.concatenate(probabilities)
    return (probabilities.T @ masks.reshape(n, -1)).reshape(-1, *image.shape[:2]) / n / p1


def mask_rates(n: int, device: torch.device, repeats: int = 3) -> tuple[float, float, float]:
    """Masks per second at 224x224, the median of `repeats` runs each: ours (batched, on `device`), the
    notebook's loop (CPU), and merely filling a fresh tensor of the masks' size on `device`, which any
    way of making them also does. One run writes hundreds of MB of fresh memory, whose cost on a shared
    machine varies several-fold from run to run; the median keeps one slow run from deciding."""
    loop_n = max(1, min(n, 400))   # the loop is slow; its rate comes from fewer masks
    loop_rates, our_rates, fill_rates = [], [], []
    generate_masks(16, 8, 0.5, RISE_SIZE, device=device)   # warm-up
    for _ in range(repeats):
        start = time.perf_counter()
        notebook_masks(loop_n, 8, 0.5, RISE_SIZE, np.random.default_rng(0))
        loop_rates.append(loop_n / (time.perf_counter() - start))
        our_rates.append(n / _seconds(device, lambda: generate_masks(n, 8, 0.5, RISE_SIZE, device=device,
                                                                     generator=torch.Generator().manual_seed(0))))
        fill_rates.append(n / _seconds(device, lambda: torch.empty(n, 1, *RISE_SIZE, device=device).fill_(0.5)))
    return float(np.median(our_rates)), float(np.median(loop_rates)), float(np.median(fill_rates))


def _seconds(device: torch.device, make) -> float:
    """Seconds to make a tensor (freed afterwards, so the next run also gets fresh memory)."""
    sync(device)
    start = time.perf_counter()
    made = make()
    sync(device)
    seconds = time.perf_counter() - start
    del made
    return seconds


def resnet18(device: torch.device) -> torch.nn.Module:
    from torchvision.models import resnet18 as build

    torch.manual_seed(0)
    return build(weights=None).eval().to(device)


def rise_seconds(model, n: int, device: torch.device, notebook: bool, autocast: torch.dtype | None = None) -> float:
    """Seconds for one full RISE map of a 224x224 image (every class), ours or the notebook's way."""
    image = torch.rand(3, *RISE_SIZE, generator=torch.Generator().manual_seed(1))
    start = time.perf_counter()
    if notebook:
        notebook_rise(model, image.permute(1, 2, 0).numpy(), n, 8, 0.5, np.random.default_rng(0))
    else:
        with torch.no_grad():
            rise(model, image.to(device), n=n, generator=torch.Generator().manual_seed(0), autocast=autocast)
        sync(device)
    return time.perf_counter() - start


@torch.no_grad()
def model_pass_seconds(model, n: int, autocast: torch.dtype | None = None, sample: int = 512) -> float:
    """Seconds the model alone takes on `n` masked 224x224 images, fed as `rise` feeds them (batches of
    DEFAULT_BATCH, channels-last), timed over `sample` of them after a warm-up batch and scaled to `n`:
    a full RISE map of this model on the CPU takes at least that."""
    sample = max(1, min(n, sample))
    masks = generate_masks(min(sample, DEFAULT_BATCH), 8, 0.5, RISE_SIZE, generator=torch.Generator().manual_seed(0))
    batch = masked_images(torch.rand(3, *RISE_SIZE, generator=torch.Generator().manual_seed(1)), masks, 0.0)
    with autocast_context(torch.device("cpu"), autocast):
        model(batch)
        start = time.perf_counter()
        for done in range(0, sample, len(batch)):
            model(batch[:sample - done])
    return (time.perf_counter() - start) * n / sample


def sync(device: torch.device) -> None:
    """Wait for queued CUDA work, so timings cover it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
