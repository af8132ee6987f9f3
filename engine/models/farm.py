"""The farm classifier: names the animal in a 96x96 crop of the farm world.

The hunter's 25x25 patches are too small to judge explanations on; this model sees enough of the
scene that a saliency map can be right or wrong about where the animal is.
"""

from __future__ import annotations

import torch
from torch import nn

FARM_LABELS = ("chicken", "pig", "panda")
FARM_INPUT_SIZE = 96


def _stage(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]


class FarmClassifier(nn.Module):
    """Four 3x3 conv stages (16-32-64-64 channels, three 2x2 pools), global average pool, linear head.

    Takes RGB in [0, 1] (N x 3 x 96 x 96; other sizes work too). Activations are `nn.ReLU` modules,
    not functional calls, so an explanation attack can swap them for softplus.
    """

    def __init__(self, labels=FARM_LABELS):
        super().__init__()
        self.neutral_input = 0.5   # standardised to zero inside: what "removed" pixels are set to
        self.labels = tuple(labels)
        self.input_size = FARM_INPUT_SIZE
        self.features = nn.Sequential(
            *_stage(3, 16), nn.MaxPool2d(2), *_stage(16, 32), nn.MaxPool2d(2),
            *_stage(32, 64), nn.MaxPool2d(2), *_stage(64, 64),
        )
        self.head = nn.Linear(64, len(self.labels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits, N x C."""
        return self.head(self.features((x - 0.5) * 4.0).mean((2, 3)))
