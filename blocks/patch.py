"""A universal adversarial patch for an ImageNet classifier (Brown et al. 2017, "Adversarial Patch").

The patch is trained by expectation over transformation: pasted on training photos at a random
position, at a random share of the image's area, rotated by up to ROTATION degrees and with its
brightness changed, so it works wherever and however large it lands. Targeted, it makes the
classifier read the target class (the paper's toaster); untargeted, it pushes every protected class
(hen, cock, ...) away. Success is measured as the paper reports it: top-1 against the patch's area.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from blocks.choices import PATCH_AREA


@dataclass(frozen=True)
class PatchPlacement:
    """Ranges of the random transformation: the patch's share of the image area (drawn log-uniformly,
    so small patches, the hard case, get their share), rotation and brightness."""

    area: tuple[float, float] = PATCH_AREA
    rotation_degrees: float = 22.5
    brightness: tuple[float, float] = (0.8, 1.2)


def paste_patch(images: torch.Tensor, patch: torch.Tensor, area: torch.Tensor, angle: torch.Tensor,
                centre: torch.Tensor, gain: torch.Tensor) -> torch.Tensor:
    """`patch` (3 x P x P) pasted on each image (N x 3 x S x S) as a square of `area` of the image
    (N), rotated by `angle` (radians, N), centred at `centre` (N x 2, in [-1, 1] image units) and
    multiplied by `gain` (N); bilinear, so gradients reach the patch."""
    n, side = len(images), images.shape[-1]
    scale = area.sqrt()                                   # the patch's side over the image's
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # the grid maps image coordinates to patch coordinates: the inverse of scale, rotate, translate
    theta = torch.stack([torch.stack([cos, sin, -(cos * centre[:, 0] + sin * centre[:, 1])], 1),
                         torch.stack([-sin, cos, sin * centre[:, 0] - cos * centre[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, [n, 3, side, side], align_corners=False)
    with_alpha = torch.cat([patch, torch.ones_like(patch[:1])])[None].expand(n, -1, -1, -1)
    drawn = F.grid_sample(with_alpha, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    colour, alpha = drawn[:, :3] * gain[:, None, None, None], drawn[:, 3:]
    return (images * (1 - alpha) + colour).clamp(0, 1)


def random_placements(n: int, placement: PatchPlacement, generator: torch.Generator,
                      area: float | None = None) -> tuple[torch.Tensor, ...]:
    """Areas, angles, centres and gains of `n` random placements (a fixed `area` when given), each
    patch wholly inside the image before its rotation."""
    def uniform(low, high, *shape):
        return low + (high - low) * torch.rand(n, *shape, generator=generator)

    low, high = (math.log(a) for a in placement.area)
    areas = torch.full((n,), area) if area is not None else uniform(low, high).exp()
    angles = uniform(-placement.rotation_degrees, placement.rotation_degrees) * math.pi / 180
    centres = uniform(-1, 1, 2) * (1 - areas.sqrt())[:, None]
    return areas, angles, centres, uniform(*placement.brightness)


def patch_loss(logits: torch.Tensor, target: int | None, protected: list[int]) -> torch.Tensor:
    """Targeted: cross-entropy to `target`. Untargeted: -log(1 - p(protected classes)), large only
    where the classifier still reads a protected class."""
    log_p = logits.log_softmax(1)
    if target is not None:
        return -log_p[:, target].mean()
    kept = torch.ones(log_p.shape[1], dtype=torch.bool, device=log_p.device)
    kept[protected] = False
    return -log_p[:, kept].logsumexp(1).mean()


def optimise_patch(model, images: torch.Tensor, target: int | None, protected: list[int], side: int = 112,
                   steps: int = 3000, batch_size: int = 16, lr: float = 0.2, seed: int = 0,
                   placement: PatchPlacement = PatchPlacement(), progress=None) -> torch.Tensor:
    """A `side` x `side` patch (3 x side x side in [0, 1]) trained by Adam on its logits (learning rate
    `lr`, cosine-annealed) for `steps` steps of `batch_size` random placements on `images` (N x 3 x S x S
    RGB in [0, 1], flipped at random)."""
    generator = torch.Generator().manual_seed(seed)
    logits = torch.logit(torch.rand(3, side, side, generator=generator).clamp(0.05, 0.95)).requires_grad_(True)
    optimiser = torch.optim.Adam([logits], lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, steps)   # large steps first, then settle
    for _ in range(steps):
        pick = torch.randint(len(images), (batch_size,), generator=generator)
        batch = images[pick]
        flip = torch.rand(batch_size, generator=generator) < 0.5
        batch = torch.where(flip[:, None, None, None], batch.flip(-1), batch)
        pasted = paste_patch(batch, torch.sigmoid(logits), *random_placements(batch_size, placement, generator))
        loss = patch_loss(model(pasted), target, protected)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        schedule.step()
        if progress is not None:
            progress.update()
    return torch.sigmoid(logits).detach()


@torch.no_grad()
def patch_success(model, images: torch.Tensor, labels: torch.Tensor, patch: torch.Tensor, area: float,
                  target: int | None, protected: list[int], placement: PatchPlacement = PatchPlacement(),
                  repeats: int = 2, seed: int = 0, batch_size: int = 50) -> float:
    """Share of `repeats` random placements per image at `area` whose top-1 is `target`, over the
    images whose own class (`labels`) is not the target; untargeted, whose top-1 is no longer a
    protected class, over the images of a protected class (NaN when there are none)."""
    protected_t = torch.tensor(protected)
    images = images[labels != target if target is not None else torch.isin(labels, protected_t)]
    if not len(images):
        return float("nan")
    generator = torch.Generator().manual_seed(seed)
    hits = 0
    for _ in range(repeats):
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size]
            top = model(paste_patch(batch, patch, *random_placements(len(batch), placement, generator, area))).argmax(1)
            hit = top == target if target is not None else ~torch.isin(top, protected_t)
            hits += int(hit.sum())
    return hits / (repeats * len(images))
