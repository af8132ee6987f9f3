"""One canvas for all pyramid levels of a frame, so one network pass scores every level.

Each network call has a fixed cost that the small levels of a pyramid do not amortise: at 640x360
the three coarser levels hold 30% of the pixels but took 45-70% as long as the finest level when
scored alone. Laid out on one canvas they cost one call. Levels sit at multiples of the network's stride, so a level's window grid
is the canvas's grid from the level's top-left cell, and never overlap, so no window of a level sees
another level's pixels.
"""

from __future__ import annotations

import numpy as np

from engine.detection.grid import HUNTER_GRID

STEP = HUNTER_GRID.stride


def shelf_layout(sizes: list[tuple[int, int]]) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Top-left cells (row, column) for rectangles of `sizes` (rows, columns; largest first) and the
    canvas size in cells.

    The first rectangle sets the canvas height; the rest fill columns to its right, in shelves: a
    rectangle goes beside the previous one on its shelf when it fits there, else on a new shelf below,
    else into a new column.
    """
    height, right = sizes[0][0], sizes[0][1]
    origins = [(0, 0)]
    column_start = column_end = shelf_col = right   # an empty column: the next rectangle opens one
    shelf_row = shelf_height = 0
    for rows, cols in sizes[1:]:
        beside = shelf_height and rows <= shelf_height and shelf_col + cols <= column_end
        if not beside:
            if shelf_row + shelf_height + rows <= height and cols <= column_end - column_start:
                shelf_row, shelf_height, shelf_col = shelf_row + shelf_height, rows, column_start
            else:
                column_start, column_end = right, right + cols
                shelf_row, shelf_height, shelf_col = 0, rows, column_start
                height = max(height, rows)
        origins.append((shelf_row, shelf_col))
        shelf_col += cols
        right = max(right, shelf_col)
    return origins, (height, right)


def level_layout(shapes: list[tuple[int, int]], step: int = STEP) -> tuple[list[tuple[int, int]], tuple[int, int]]:
    """Cells of `step` px (the network's stride) where each image of pixel `shapes` starts (row,
    column), and the canvas pixel size."""
    cells = [(-(-h // step), -(-w // step)) for h, w in shapes]
    origins, (rows, cols) = shelf_layout(cells)
    return origins, (rows * step, cols * step)


def paint(images: list[np.ndarray], origins: list[tuple[int, int]], size: tuple[int, int],
          step: int = STEP) -> np.ndarray:
    """The canvas of `level_layout`: each image copied to its place, the rest zeros."""
    canvas = np.zeros((*size, 3), np.uint8)
    for image, (row, col) in zip(images, origins):
        y, x = row * step, col * step
        canvas[y:y + image.shape[0], x:x + image.shape[1]] = image
    return canvas
