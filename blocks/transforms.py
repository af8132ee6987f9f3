"""Random, differentiable placement of blocks on background windows (expectation over transformation).

A block is drawn into a 25x25 window at a random size, position and small rotation with
nearest-neighbour sampling (the blocky look), over a background window cut from the farm world;
then brightness changes and sensor noise are applied to the whole window, as a camera would.
Gradients reach the block's pixels, so an optimiser can make a block that survives all of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Placement:
    """Ranges of the random transformation (sizes are fractions of the window side)."""

    size: tuple[float, float] = (0.4, 0.9)
    rotation_degrees: float = 10.0
    brightness: tuple[float, float] = (0.8, 1.2)
    noise: float = 5 / 255


def paste_randomly(blocks: torch.Tensor, backgrounds: torch.Tensor, placement: Placement,
                   generator: torch.Generator) -> torch.Tensor:
    """Paste each block (N x 3 x s x s, or one block for all) onto its background (N x 3 x S x S).

    Returns N x 3 x S x S windows in [0, 1].
    """
    n, side = len(backgrounds), backgrounds.shape[-1]
    device = backgrounds.device
    blocks = blocks.expand(n, -1, -1, -1) if len(blocks) == 1 else blocks

    def uniform(low, high, *shape):
        return (low + (high - low) * torch.rand(n, *shape, generator=generator)).to(device)

    size = uniform(*placement.size)
    angle = uniform(-placement.rotation_degrees, placement.rotation_degrees) * math.pi / 180
    centre = uniform(-1, 1, 2) * (1 - size)[:, None]        # keep the block inside the window
    # the grid maps window coordinates to block coordinates: inverse of scale-rotate-translate
    cos, sin = torch.cos(angle) / size, torch.sin(angle) / size
    theta = torch.stack([torch.stack([cos, sin, -(cos * centre[:, 0] + sin * centre[:, 1])], 1),
                         torch.stack([-sin, cos, sin * centre[:, 0] - cos * centre[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, [n, 3, side, side], align_corners=False)
    drawn = F.grid_sample(blocks, grid, mode="nearest", padding_mode="zeros", align_corners=False)
    inside = F.grid_sample(torch.ones_like(blocks[:, :1]), grid, mode="nearest", align_corners=False)
    window = backgrounds * (1 - inside) + drawn * inside
    window = window * uniform(*placement.brightness, 1, 1, 1)
    noise = torch.randn(window.shape, generator=generator).to(device) * placement.noise
    return (window + noise).clamp(0, 1)


def success_rate(model, block: torch.Tensor, backgrounds: torch.Tensor, target: int, placement: Placement,
                 samples: int = 1000, seed: int = 0) -> float:
    """Share of random placements over the backgrounds that `model` classifies as `target`."""
    generator = torch.Generator().manual_seed(seed)
    pick = torch.randint(len(backgrounds), (samples,), generator=generator).to(backgrounds.device)
    with torch.no_grad():
        windows = paste_randomly(block[None], backgrounds[pick], placement, generator)
        return float((model(windows).argmax(dim=1) == target).float().mean())
