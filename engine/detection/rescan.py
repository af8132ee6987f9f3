"""Which detector windows an edit touched, for re-detecting a frame after blocks are pasted on it.

Pasting blocks changes a few small regions of a frame. Every pyramid level of the edited frame is
compared with the clean frame's level (area resizing is local, so unchanged regions stay identical),
and only the windows that overlap a changed pixel need the network again.
"""

from __future__ import annotations

from functools import reduce

import cv2
import numpy as np

from engine.detection.grid import HUNTER_GRID, WindowGrid

# The canvas of rerun regions is rounded up to this many windows a side: the convolution library
# compiles a kernel per input shape, and a handful of recurring shapes is far cheaper than a new one
# every frame.
QUANTUM = 4


def pixel_changes(old: np.ndarray, new: np.ndarray) -> np.ndarray:
    """Per pixel, the largest absolute difference over the channels of two same-sized images."""
    diff = cv2.absdiff(old, new)
    if diff.ndim == 3:   # 3x faster than cv2.reduce here, and NumPy's max over a 3-wide axis is far slower
        diff = reduce(cv2.max, cv2.split(diff))
    return diff


def changed_windows(old: np.ndarray, new: np.ndarray, offsets, cells,
                    grid: WindowGrid = HUNTER_GRID) -> list[np.ndarray] | None:
    """Per (dy, dx) input shift, a `cells`-shaped bool map of the windows whose pixels differ between
    two same-sized BGR level images; None when the images are identical."""
    changed = pixel_changes(old, new)
    if not cv2.countNonZero(changed):
        return None
    # with the anchor at the kernel's corner, a pixel is marked when the window starting there
    # (extending right and down, as windows do) holds a changed pixel
    kernel = np.ones((grid.window, grid.window), np.uint8)
    touched = cv2.dilate(changed, kernel, anchor=(0, 0), borderType=cv2.BORDER_CONSTANT, borderValue=0)
    rows, cols = cells
    return [touched[dy::grid.stride, dx::grid.stride][:rows, :cols] > 0 for dy, dx in offsets]


def cell_groups(cells: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Bounding rectangles (r0, c0, r1, c1), ends exclusive, of the 8-connected groups of True cells."""
    _, _, stats, _ = cv2.connectedComponentsWithStats(cells.view(np.uint8), connectivity=8)
    return [(y, x, y + h, x + w) for x, y, w, h, _ in stats[1:]]


def cell_crop(image: np.ndarray, rect: tuple[int, int, int, int], shift: tuple[int, int],
              grid: WindowGrid = HUNTER_GRID) -> np.ndarray:
    """The pixels of a level image that the windows in `rect` (cells of input shift `shift`) cover."""
    r0, c0, r1, c1 = rect
    y, x = grid.stride * r0 + shift[0], grid.stride * c0 + shift[1]
    return image[y:y + grid.span(r1 - r0), x:x + grid.span(c1 - c0)]


def pack(crops: list[np.ndarray], grid: WindowGrid = HUNTER_GRID) -> tuple[np.ndarray, list[int]]:
    """Lay window-grid crops side by side on one canvas so one network pass scores them all.

    Returns the canvas and, per crop, the window column where it starts: crop k's window (r, c) is the
    canvas's window (r, start_k + c). A crop is 16 px wider than its windows' steps, so each starts two
    steps after the previous one's last window and none overlap; the canvas is rounded up to a
    multiple of QUANTUM windows a side so its shape recurs.
    """
    rows = max(grid.count(crop.shape[0]) for crop in crops)
    starts, column = [], 0
    for crop in crops:
        starts.append(column)
        column += grid.count(crop.shape[1]) + 2
    rows, columns = (-(-n // QUANTUM) * QUANTUM for n in (rows, column))
    canvas = np.zeros((grid.span(rows), grid.span(columns), 3), np.uint8)
    for crop, start in zip(crops, starts):
        x = grid.stride * start
        canvas[:crop.shape[0], x:x + crop.shape[1]] = crop
    return canvas, starts


def window_count(pixels: int, grid: WindowGrid = HUNTER_GRID) -> int:
    """Windows at the grid's stride in `pixels` consecutive pixels."""
    return grid.count(pixels)
