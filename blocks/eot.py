"""An iterative targeted block optimiser with expectation over transformation (EOT).

Beyond the notebook's single FGSM step: Adam on the block's pixels (through a sigmoid, so they stay
in [0, 1]) minimising the target's cross-entropy averaged over random placements on real backgrounds,
so the block keeps working at any size, position, small rotation, brightness and noise. A camouflage
block is then refined on scenes (`blocks.scenes`): chickens covered as the pipeline covers them.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from blocks.choices import LARGE_BLOCKS
from blocks.scenes import Scenes, not_chicken_loss, render_scenes
from blocks.sweep import GREY
from blocks.transforms import Placement, paste_randomly


def optimise_block(model, target: int, backgrounds: torch.Tensor, placement: Placement = Placement(),
                   steps: int = 300, batch_size: int = 128, lr: float = 0.1, seed: int = 0,
                   start: float = GREY, progress=None, scenes: Scenes | None = None, scene_steps: int = 0,
                   scene_batch: int = 64, fractions: tuple[float, float] = LARGE_BLOCKS,
                   border: int = 0) -> torch.Tensor:
    """Return a 3 x S x S block in [0, 1] that `model` sees as class `target` when pasted randomly.

    Args:
        backgrounds: N x 3 x S x S windows (for example chicken, pig and terrain windows) it is pasted on.
        steps, batch_size, lr: Adam steps, random placements per step, learning rate.
        progress: optional object with `update(n)`, called once per step.
        scenes, scene_steps, scene_batch: after `steps`, `scene_steps` more steps (a fresh Adam) that
            also make the chickens of `scene_batch` random scenes not chickens to the hunter, the
            block's side drawn from `fractions` of each detected chicken's.
        border: pixels along each edge held at the `start` grey, the optimised pattern inside them.
    """
    generator = torch.Generator().manual_seed(seed)
    device = backgrounds.device
    pixels = torch.logit(torch.full((1, 3, model.input_size, model.input_size), start, device=device))
    labels = torch.full((batch_size,), target, device=device)

    def on_windows(block):
        pick = torch.randint(len(backgrounds), (batch_size,), generator=generator).to(device)
        return F.cross_entropy(model(paste_randomly(block, backgrounds[pick], placement, generator)), labels)

    def on_scenes(block):
        pick = torch.randint(len(scenes), (scene_batch,), generator=generator)
        images, counted = render_scenes(block, scenes, pick, generator, fractions)
        return not_chicken_loss(model.dense_logits(images), counted, model.labels.index("chicken"))

    ring = torch.ones_like(pixels[:1, :1], dtype=torch.bool)
    ring[..., border:model.input_size - border, border:model.input_size - border] = False

    def shaped(logits):
        return torch.where(ring, torch.full_like(logits, start), torch.sigmoid(logits))

    pixels = _adam(pixels, steps, lr, lambda logits: on_windows(shaped(logits)), progress)
    if scenes is not None and len(scenes) and scene_steps:
        scenes = scenes.to(device)
        pixels = _adam(pixels, scene_steps, lr, lambda logits: on_windows(shaped(logits)) + on_scenes(shaped(logits)),
                       progress)
    return shaped(pixels)[0]


def _adam(pixels: torch.Tensor, steps: int, lr: float, loss_of, progress) -> torch.Tensor:
    """`steps` Adam steps on the block's logits `pixels` against `loss_of(logits)`; the new logits."""
    pixels = pixels.detach().clone().requires_grad_(True)
    optimiser = torch.optim.Adam([pixels], lr=lr)
    for _ in range(steps):
        (gradient,) = torch.autograd.grad(loss_of(pixels), pixels)
        pixels.grad = gradient
        optimiser.step()
        if progress is not None:
            progress.update(1)
    return pixels.detach()
