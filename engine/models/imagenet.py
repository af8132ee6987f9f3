"""ImageNet-1k classifiers wrapped as our classifiers: RGB in [0, 1], labels, and, for networks that
end in global average pooling and a linear layer, a class-evidence map (class activation mapping).

Such a network is convolutional up to its head: the head applied at every position of the last
feature map gives per-position class logits, and their mean is the image's logits. That map is
what the real-world detector reads (engine.detection.evidence).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn


class ImageNetClassifier(nn.Module):
    """An ImageNet network that takes RGB in [0, 1], as our models do, and normalises it inside.

    `neutral_input` is the dataset's mean colour, which normalises to zero: what RISE's masked-out
    pixels and the other methods' baselines take, as in the RISE paper. `features` (normalised
    images to B x C x h x w) and `head` (a linear layer) are set when the network is global average
    pooling and a linear layer over its features; `evidence` needs them. With `channels_last` the
    network runs in that memory layout: depthwise convolutions are many times faster in it on CPUs.
    """

    def __init__(self, net: nn.Module, labels, mean, std, input_size: int, resize_size: int,
                 features: Callable | None = None, head: nn.Linear | None = None, channels_last: bool = False):
        super().__init__()
        self.net = net
        self.labels = tuple(labels)
        self.input_size = input_size
        self.resize_size = resize_size   # images are resized to this short side, then centre-cropped
        self.register_buffer("neutral_input", torch.tensor(mean).view(-1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(-1, 1, 1), persistent=False)
        # a tuple, so the network's own layers are not registered a second time under new names
        self._evidence_parts, self.channels_last = (features, head), channels_last
        if channels_last:
            self.net.to(memory_format=torch.channels_last)

    def normalised(self, x: torch.Tensor) -> torch.Tensor:
        x = (x - self.neutral_input) / self.std
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(self.normalised(x))

    @property
    def has_evidence(self) -> bool:
        return None not in self._evidence_parts

    def evidence(self, x: torch.Tensor) -> torch.Tensor:
        """Per-position class logits, B x classes x h x w (h, w: the last feature map's, about the
        input's side / 32): the linear head at every position. Their mean over positions is the
        image's logits."""
        if not self.has_evidence:
            raise TypeError(f"{type(self.net).__name__} does not end in average pooling and a linear layer")
        features, head = self._evidence_parts
        return F.conv2d(features(self.normalised(x)), head.weight[:, :, None, None], head.bias)
