"""From dense class logits to objects: probabilities of every window, their centroids, boxes grouped
per object. NumPy on the CPU: the maps are small, and each step costs microseconds there."""

from __future__ import annotations

import numpy as np
import torch

GROUP_OVERLAP = 0.3  # windows overlapping more than this (of the smaller box) form one object


def bordered_probabilities(maps: list[torch.Tensor]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Class probabilities of every level's logits (each N x C x H x W), the levels laid end to end as
    N x C x cells, each level with a border of zero cells; per level, its first cell and bordered width.

    The border gives each window a 3x3 neighbourhood without reaching into the next level.
    """
    blocks, inside = [], []
    for logits in maps:
        logits = logits.float().contiguous().cpu().numpy()   # NumPy reduces over classes 7x faster
        n, c, h, w = logits.shape                               # when each class is one block
        block = np.zeros((n, c, h + 2, w + 2), np.float32)     # np.pad costs 10x more on maps this small
        block[:, :, 1:-1, 1:-1] = logits
        mask = np.zeros((h + 2, w + 2), np.float32)
        mask[1:-1, 1:-1] = 1
        blocks.append(block.reshape(n, c, -1))
        inside.append(mask.ravel())
    logits = np.concatenate(blocks, axis=2)
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    probs *= np.concatenate(inside)
    sizes = np.array([block.shape[2] for block in blocks])
    widths = np.array([m.shape[3] + 2 for m in maps])
    return probs, np.cumsum(sizes) - sizes, widths


def neighbourhood_centroid(probs: np.ndarray, n, cls, cell, start, width) -> tuple[np.ndarray, np.ndarray]:
    """For cells (n, cell) of class `cls` in `bordered_probabilities`, their level starting at cell
    `start`, `width` wide, the probability-weighted mean (row, column) of the class over each cell's
    3x3 neighbourhood, in the level's window grid.

    A window's own position is only accurate to the stride; weighting the neighbours' positions by
    their probability of the same class moves it toward where the evidence is centred.
    """
    step = np.arange(-1, 2)
    neighbours = cell[:, None, None] + step[:, None] * width[:, None, None] + step
    weights = probs[n[:, None, None], cls[:, None, None], neighbours]          # K x 3 x 3
    r, c = np.divmod(cell - start, width)                  # counting the border as row and column 0
    rows, cols = (r - 1)[:, None] + step, (c - 1)[:, None] + step
    total = weights.sum(axis=(1, 2))
    row = (weights.sum(axis=2) * rows).sum(axis=1) / total
    col = (weights.sum(axis=1) * cols).sum(axis=1) / total
    return row, col


def cluster(boxes: np.ndarray, scores: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy clustering: the best remaining box takes every box of its class overlapping it; a cluster's
    box is the score-weighted mean of its members, its score their maximum. Returns boxes, scores, classes."""
    remaining = np.argsort(-scores, kind="stable")
    area = np.prod(boxes[:, 2:] - boxes[:, :2], axis=1)
    merged, best, label = [], [], []
    while len(remaining):
        first = remaining[0]
        lo, hi = np.maximum(boxes[first, :2], boxes[remaining, :2]), np.minimum(boxes[first, 2:], boxes[remaining, 2:])
        inter = np.prod(np.clip(hi - lo, 0, None), axis=1)
        overlapping = ((inter / np.minimum(area[remaining], area[first]) > GROUP_OVERLAP)
                       & (classes[remaining] == classes[first]))
        members = remaining[overlapping]
        weights = scores[members]
        merged.append((boxes[members] * weights[:, None]).sum(0) / weights.sum())
        best.append(weights.max())
        label.append(classes[first])
        remaining = remaining[~overlapping]
    return np.array(merged), np.array(best, np.float32), np.array(label, np.int64)


