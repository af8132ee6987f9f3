"""Pasting blocks onto frames: on detected chickens (camouflage), on empty ground (decoys).

Blocks are scaled with nearest-neighbour interpolation, which keeps Minecraft's blocky look, and
written with one array assignment per block.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch


def block_bgr(pixels: torch.Tensor) -> np.ndarray:
    """A 3 x S x S RGB block in [0, 1] as an S x S x 3 uint8 BGR image."""
    rgb = (pixels.permute(1, 2, 0).cpu().numpy() * 255).round().astype(np.uint8)
    return np.ascontiguousarray(rgb[..., ::-1])


def shuffled(block: np.ndarray, seed: int = 0) -> np.ndarray:
    """The control block: the same pixels in a random order (same colours, no adversarial structure)."""
    flat = block.reshape(-1, 3)
    return flat[np.random.default_rng(seed).permutation(len(flat))].reshape(block.shape)


def paste_at(frame: np.ndarray, block: np.ndarray, centres: np.ndarray, sides: np.ndarray) -> None:
    """Paste `block` (S x S x 3 BGR) in place, centred at each (x, y) with the given side in pixels."""
    height, width = frame.shape[:2]
    for (x, y), side in zip(np.round(centres).astype(int), np.maximum(np.round(sides).astype(int), 1)):
        x0, y0 = x - side // 2, y - side // 2
        fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + side, width), min(y0 + side, height)
        if fx1 <= fx0 or fy1 <= fy0:
            continue
        scaled = cv2.resize(block, (side, side), interpolation=cv2.INTER_NEAREST)
        frame[fy0:fy1, fx0:fx1] = scaled[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]


def cover_boxes(frame: np.ndarray, block: np.ndarray, xyxy: np.ndarray, fraction: float) -> None:
    """Paste a square block on each box, centred, its side `fraction` of the box's larger side."""
    if len(xyxy):
        centres = (xyxy[:, :2] + xyxy[:, 2:]) / 2
        paste_at(frame, block, centres, fraction * np.max(xyxy[:, 2:] - xyxy[:, :2], axis=1))
