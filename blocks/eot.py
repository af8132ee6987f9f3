"""An iterative targeted block optimiser with expectation over transformation (EOT).

Beyond the notebook's single FGSM step: Adam on the block's pixels (through a sigmoid, so they stay
in [0, 1]) minimising the target's cross-entropy averaged over random placements on real backgrounds,
so the block keeps working at any size, position, small rotation, brightness and noise.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from blocks.sweep import GREY
from blocks.transforms import Placement, paste_randomly


def optimise_block(model, target: int, backgrounds: torch.Tensor, placement: Placement = Placement(),
                   steps: int = 300, batch_size: int = 128, lr: float = 0.1, seed: int = 0,
                   start: float = GREY, progress=None) -> torch.Tensor:
    """Return a 3 x S x S block in [0, 1] that `model` sees as class `target` when pasted randomly.

    Args:
        backgrounds: N x 3 x S x S windows (for example chicken, pig and terrain windows) it is pasted on.
        steps, batch_size, lr: Adam steps, random placements per step, learning rate.
        progress: optional object with `update(n)`, called once per step.
    """
    generator = torch.Generator().manual_seed(seed)
    size = model.input_size
    device = backgrounds.device
    pixels = torch.logit(torch.full((1, 3, size, size), start, device=device)).requires_grad_(True)
    optimiser = torch.optim.Adam([pixels], lr=lr)
    labels = torch.full((batch_size,), target, device=device)
    for _ in range(steps):
        pick = torch.randint(len(backgrounds), (batch_size,), generator=generator).to(device)
        windows = paste_randomly(torch.sigmoid(pixels), backgrounds[pick], placement, generator)
        loss = F.cross_entropy(model(windows), labels)
        (gradient,) = torch.autograd.grad(loss, pixels)
        pixels.grad = gradient
        optimiser.step()
        if progress is not None:
            progress.update(1)
    return torch.sigmoid(pixels)[0].detach()
