"""What score an explanation explains: plain callables from a model's output batch to scores.

A target returns a tensor of shape (B,) (one score per input) or (B, K) (K scores, one map each).
"""

from __future__ import annotations

import torch

from engine.errors import SaviourError


def _check_class(index: int, classes: int) -> None:
    if not 0 <= index < classes:
        raise SaviourError(f"target class {index} is out of range for a model with {classes} classes (0-{classes - 1})")


class ClassProbability:
    """Softmax probability of one class (RISE's default score)."""

    def __init__(self, index: int):
        self.index = int(index)

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        _check_class(self.index, output.shape[1])
        return output.softmax(1)[:, self.index]


class ClassLogit:
    """The raw logit of one class (what gradient methods usually explain)."""

    def __init__(self, index: int):
        self.index = int(index)

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        _check_class(self.index, output.shape[1])
        return output[:, self.index]


def all_probabilities(output: torch.Tensor) -> torch.Tensor:
    """Every class's softmax probability: one map per class."""
    return output.softmax(1)


class DenseClassEvidence:
    """Mean probability of one class over every window of a dense output (B x K x H' x W'), e.g. the
    hunter's evidence for "chicken" anywhere in a frame from `Hunter.dense_logits`."""

    def __init__(self, index: int):
        self.index = int(index)

    def __call__(self, output: torch.Tensor) -> torch.Tensor:
        _check_class(self.index, output.shape[1])
        return output.softmax(1)[:, self.index].flatten(1).mean(1)


def as_target(target) -> callable:
    """None -> every class's probability; an int -> that class's probability; a callable as it is."""
    if target is None:
        return all_probabilities
    if callable(target):
        return target
    if isinstance(target, (int, torch.Tensor)) or hasattr(target, "__index__"):
        return ClassProbability(int(target))
    raise SaviourError(f"a target must be None, a class index or a callable, got {target!r}")
