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


def shuffled(block: np.ndarray, seed: int = 0, border: int = 0) -> np.ndarray:
    """The control block: the same pixels in a random order (same colours, no adversarial structure).
    A block made with a plain `border` keeps it, and only the pixels inside are shuffled."""
    control = block.copy()
    inside = control[border:len(block) - border, border:len(block) - border]
    flat = inside.reshape(-1, 3)
    inside[...] = flat[np.random.default_rng(seed).permutation(len(flat))].reshape(inside.shape)
    return control


FOOTPRINT_GROWTH = 1.1     # a block's square grown by a tenth: at its edge the hunter can still see the chicken
CUBE_DEPTH = 0.25               # share of the cube's square taken by its top and side faces
CUBE_SHADES = (1.25, 0.7)       # brightness of the top and the right face (the front is as made)


def paste_at(frame: np.ndarray, block: np.ndarray, centres: np.ndarray, sides: np.ndarray,
             cube: bool = False, interpolation: int = cv2.INTER_NEAREST) -> None:
    """Paste `block` (S x S x 3 BGR) in place, centred at each (x, y) with the given side in pixels,
    resized with `interpolation` (nearest: the blocky look); with `cube`, drawn as a small
    Minecraft-style cube (front, lit top, shaded side) in that square."""
    height, width = frame.shape[:2]
    for (x, y), side in zip(np.round(centres).astype(int), np.maximum(np.round(sides).astype(int), 1)):
        x0, y0 = x - side // 2, y - side // 2
        fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + side, width), min(y0 + side, height)
        if fx1 <= fx0 or fy1 <= fy0:
            continue
        visible = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
        if cube:
            image, solid = cube_image(block, side)
            target = frame[fy0:fy1, fx0:fx1]
            target[solid[visible]] = image[visible][solid[visible]]
        else:
            frame[fy0:fy1, fx0:fx1] = cv2.resize(block, (side, side), interpolation=interpolation)[visible]


def cube_image(block: np.ndarray, side: int) -> tuple[np.ndarray, np.ndarray]:
    """A side x side image of the block drawn on three faces of a cube, and the mask of cube pixels."""
    b = block.shape[0]
    depth = max(1, round(side * CUBE_DEPTH))
    front = side - depth
    corners = np.float32([[0, 0], [b, 0], [0, b]]) - 0.5    # pixel edges, so nearest sampling splits cells evenly
    faces = [  # (where the block's corners (0,0), (b,0), (0,b) land, shade), back to front
        (np.float32([[front, depth], [side, 0], [front, side]]), CUBE_SHADES[1]),
        (np.float32([[depth, 0], [side, 0], [0, depth]]), CUBE_SHADES[0]),
        (np.float32([[0, depth], [front, depth], [0, side]]), 1.0),
    ]
    image = np.zeros((side, side, 3), np.uint8)
    solid = np.zeros((side, side), bool)
    for points, shade in faces:
        warp = cv2.getAffineTransform(corners, points - 0.5)
        face = cv2.warpAffine(block, warp, (side, side), flags=cv2.INTER_NEAREST)
        cover = cv2.warpAffine(np.ones(block.shape[:2], np.uint8), warp, (side, side), flags=cv2.INTER_NEAREST) > 0
        image[cover] = np.clip(face[cover] * shade, 0, 255).astype(np.uint8)
        solid |= cover
    return image, solid


def cover_boxes(frame: np.ndarray, block: np.ndarray, xyxy: np.ndarray, fraction: float, cube: bool = False,
                interpolation: int = cv2.INTER_NEAREST) -> None:
    """Paste a square block (or cube) on each box, centred, its side `fraction` of the box's larger side."""
    if len(xyxy):
        centres = (xyxy[:, :2] + xyxy[:, 2:]) / 2
        paste_at(frame, block, centres, fraction * np.max(xyxy[:, 2:] - xyxy[:, :2], axis=1), cube, interpolation)
