"""Image pyramids for the detector, and their cheap update after a frame is edited in a few places.

Area resizing by a ratio p:q (in lowest terms) turns each run of p source pixels into q pixels of its
own, so a region aligned to those runs resizes to exactly the pixels a full resize gives it. A frame
with blocks pasted on it therefore needs only the regions around the blocks resized again.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import cv2
import numpy as np

from engine.detection.grid import HUNTER_GRID, WindowGrid
from engine.detection.rescan import pixel_changes

BORDER = HUNTER_GRID.border   # the hunter's levels' replicated pixels: half a window
TILE = 16     # changed regions are found on a grid of tiles this size: few regions, each a few tiles
_TILE_KERNEL = np.ones((TILE, TILE), np.uint8)


class Level(NamedTuple):
    """One pyramid level: the padded image and how its pixels map to the frame's."""

    image: np.ndarray
    fx: float    # frame pixels per level pixel; level pixel x of the padded image is frame x (x - border) * fx
    fy: float
    border: int = BORDER

    @property
    def interior(self) -> np.ndarray:
        """The resized frame, without the border."""
        return self.image[self.border:-self.border, self.border:-self.border]


def pyramid_level(frame: np.ndarray, scale: float, source: Level | None = None,
                  grid: WindowGrid = HUNTER_GRID) -> Level | None:
    """Resize a frame by `scale` (area interpolation) and pad it by the grid's border of replicated
    pixels, so windows can centre on animals at the frame's edge; None when smaller than one window.

    With `source`, a larger level of the same frame, the smaller level is resized from it, which is
    several times cheaper than resizing the full frame again.
    """
    height, width = frame.shape[:2]
    size = (round(width * scale), round(height * scale))
    if min(size) < grid.window:
        return None
    start = frame if source is None else source.interior
    image = cv2.resize(start, size, interpolation=cv2.INTER_AREA)
    return Level(_bordered(image, grid.border), width / size[0], height / size[1], grid.border)


def pyramid(frame: np.ndarray, scales, grid: WindowGrid = HUNTER_GRID) -> list[Level]:
    """The levels of `frame` at `scales` (largest first) that hold at least one window of `grid`."""
    levels = []
    for scale in sorted(scales, reverse=True):
        level = pyramid_level(frame, scale, levels[-1] if levels else None, grid)
        if level is None:
            break
        levels.append(level)
    return levels


def edited_pyramid(levels: list[Level], old: np.ndarray, new: np.ndarray) -> list[Level]:
    """The pyramid of frame `new`, given `levels`, the pyramid of `old`, a same-sized frame that
    differs from it in a few regions: only the changed regions are resized again. Equals `pyramid`
    of `new` at the same scales, pixel for pixel."""
    rects = changed_rects(old, new)
    if not rects:
        return list(levels)
    edited, source = [], new
    for level in levels:
        interior = level.interior.copy()
        rects = [_resize_region(source, interior, rect) for rect in rects]
        edited.append(level._replace(image=_bordered(interior, level.border)))
        source = interior
    return edited


def changed_rects(old: np.ndarray, new: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Rectangles (x0, y0, x1, y1), ends exclusive, covering every pixel where two same-sized images
    differ: the bounding boxes of 8-connected groups of TILE x TILE tiles holding a change."""
    diff = pixel_changes(old, new)
    if not cv2.countNonZero(diff):
        return []
    # with the anchor at the kernel's corner, each pixel takes the maximum of the tile starting there
    tiles = cv2.dilate(diff, _TILE_KERNEL, anchor=(0, 0))[::TILE, ::TILE] > 0
    _, _, stats, _ = cv2.connectedComponentsWithStats(tiles.view(np.uint8), connectivity=8)
    height, width = diff.shape
    return [(TILE * x, TILE * y, min(width, TILE * (x + w)), min(height, TILE * (y + h))) for x, y, w, h, _ in stats[1:]]


def _bordered(image: np.ndarray, border: int) -> np.ndarray:
    return cv2.copyMakeBorder(image, border, border, border, border, cv2.BORDER_REPLICATE)


def _resize_region(source: np.ndarray, target: np.ndarray, rect) -> tuple[int, int, int, int]:
    """Area-resize the part of `source` around `rect` into its place in `target`, which is `source`
    resized; returns the rectangle of `target` written."""
    x0, y0, x1, y1 = rect
    (sx0, sx1), (tx0, tx1) = _aligned(x0, x1, source.shape[1], target.shape[1])
    (sy0, sy1), (ty0, ty1) = _aligned(y0, y1, source.shape[0], target.shape[0])
    target[ty0:ty1, tx0:tx1] = cv2.resize(source[sy0:sy1, sx0:sx1], (tx1 - tx0, ty1 - ty0),
                                          interpolation=cv2.INTER_AREA)
    return tx0, ty0, tx1, ty1


def _aligned(start: int, end: int, source: int, target: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """Source pixels [start, end) widened to whole runs of the source:target ratio, and the target
    pixels they become. Enlarging interpolates across runs, so there it is the whole range."""
    if target > source:
        return (0, source), (0, target)
    common = math.gcd(source, target)
    run, becomes = source // common, target // common
    first, last = start // run, -(-end // run)
    return (first * run, last * run), (first * becomes, last * becomes)
