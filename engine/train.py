"""Training a patch classifier (the hunter) on labelled uint8 patches."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from engine.detection.hunter import bgr_to_tensor
from engine.explain.rise import neutral_input


def fit(model: nn.Module, patches_bgr: np.ndarray, labels: np.ndarray, epochs: int = 12,
        batch_size: int = 256, lr: float = 3e-3, seed: int = 0, class_balance: float = 1.0,
        weight_decay: float = 0.0, removal: float = 0.0, progress=None) -> list[float]:
    """Train `model` with AdamW (Adam when `weight_decay` is 0), a one-cycle schedule, a class-weighted
    loss (see `class_weights`), random flips and gains, and with `removal` > 0 random pixel removal
    (see `_remove_pixels`).

    Returns the mean training loss per epoch. `progress`, if given, is updated once per batch.
    """
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    device = next(model.parameters()).device
    x, y = bgr_to_tensor(patches_bgr, device), torch.as_tensor(labels, device=device)
    weight = class_weights(torch.bincount(y, minlength=len(model.labels)), class_balance).to(device)
    steps = epochs * ((len(y) + batch_size - 1) // batch_size)
    optimiser = (torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay) if weight_decay
                 else torch.optim.Adam(model.parameters(), lr=lr))
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr, total_steps=steps)
    history = []
    neutral = neutral_input(model)
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(y), generator=generator).to(device)
        total = 0.0
        for start in range(0, len(y), batch_size):
            idx = order[start:start + batch_size]
            batch = _augment(x[idx], generator)
            if removal:
                batch = _remove_pixels(batch, removal, neutral, generator)
            loss = F.cross_entropy(model(batch), y[idx], weight=weight)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            total += loss.item() * len(idx)
            if progress is not None:
                progress.update(1)
        history.append(total / len(y))
    model.eval()
    return history


def class_weights(counts: torch.Tensor, balance: float = 1.0) -> torch.Tensor:
    """Loss weight per class from its sample count: proportional to count ** -balance, scaled so the
    weights average 1 over the samples. 1 gives every class the same total weight, 0 every sample."""
    counts = counts.clamp(min=1).float()
    return counts.sum() / counts ** balance / (counts ** (1 - balance)).sum()


def _augment(batch: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random horizontal flips, brightness (x0.75-1.25) and colour balance (x0.93-1.07 per channel)."""
    n = len(batch)
    flip = (torch.rand(n, generator=generator) < 0.5).to(batch.device)
    gain = 0.75 + 0.5 * torch.rand(n, 1, 1, 1, generator=generator)
    balance = 0.93 + 0.14 * torch.rand(n, 3, 1, 1, generator=generator)
    batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
    return (batch * (gain * balance).to(batch.device)).clamp_(0, 1)


def _remove_pixels(batch: torch.Tensor, most: float, neutral: float | torch.Tensor,
                   generator: torch.Generator) -> torch.Tensor:
    """Set a random share (0 to `most`; about that for blobs) of each image's pixels to the neutral input,
    half of the images in scattered single pixels, half in blobs.

    Deletion metrics remove pixels this way; a network that never saw removed pixels reads scattered
    grey specks as a signal of their own, and the metric then measures that surprise, not evidence.
    """
    n, _, h, w = batch.shape
    share = most * torch.rand(n, 1, 1, 1, generator=generator)
    specks = torch.rand(n, 1, h, w, generator=generator)
    blobs = F.interpolate(torch.rand(n, 1, 6, 6, generator=generator), size=(h, w), mode="bilinear",
                          align_corners=False)
    order = torch.where(torch.rand(n, 1, 1, 1, generator=generator) < 0.5, specks, blobs)
    removed = (order < share).to(batch.device)
    return torch.where(removed, neutral, batch)


@torch.no_grad()
def accuracy(model: nn.Module, patches_bgr: np.ndarray, labels: np.ndarray, batch_size: int = 4096) -> dict:
    """Overall and per-class accuracy of `model` on labelled patches."""
    device = next(model.parameters()).device
    predicted = torch.cat([model(bgr_to_tensor(patches_bgr[i:i + batch_size], device)).argmax(1).cpu()
                           for i in range(0, len(labels), batch_size)]).numpy()
    result = {"overall": float((predicted == labels).mean()), "n": int(len(labels))}
    for c, name in enumerate(model.labels):
        mine = labels == c
        if mine.any():
            result[name] = float((predicted[mine] == c).mean())
    return result
