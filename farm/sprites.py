"""Blocky animal sprites for the farm world, painted texel by texel.

Each sprite is a small RGBA texel grid (16 texels per block edge, as in Minecraft) for one species,
view and walk step. The world scales them with nearest-neighbour resizing, which keeps the blocky look.
"""

from __future__ import annotations

import numpy as np

SPECIES = ("chicken", "pig", "panda")
VIEWS = ("right", "left", "front", "back")

# Height of each species in blocks; the sprite's texel grid is stretched to it.
HEIGHT_BLOCKS = {"chicken": 0.7, "pig": 0.9, "panda": 1.25}

PINK, PINK_DARK, PINK_LIGHT = 0xF0A0A0, 0xD88888, 0xF8C8C8
WHITE, WHITE_SHADE, BLACK = 0xF2F2F2, 0xDCDCDC, 0x1E1E1E
BEAK, WATTLE, LEGS_ORANGE = 0xF0A020, 0xD02020, 0xE08020


class _Canvas:
    """An RGBA texel grid with a mottled box painter."""

    def __init__(self, width: int, height: int, seed: int):
        self.rgba = np.zeros((height, width, 4), np.uint8)
        self.rng = np.random.default_rng(seed)

    def box(self, x0: int, y0: int, x1: int, y1: int, rgb: int, mottle: float = 0.06) -> None:
        colour = np.array([(rgb >> 16) & 255, (rgb >> 8) & 255, rgb & 255], np.float32)
        shade = 1.0 + self.rng.uniform(-mottle, mottle, (y1 - y0, x1 - x0, 1)).astype(np.float32)
        self.rgba[y0:y1, x0:x1, :3] = np.clip(colour * shade, 0, 255).astype(np.uint8)
        self.rgba[y0:y1, x0:x1, 3] = 255

    def texel(self, x: int, y: int, rgb: int) -> None:
        self.box(x, y, x + 1, y + 1, rgb, mottle=0.0)


def _pig_side(c: _Canvas, step: int) -> None:
    c.box(2 + step, 10, 5 + step, 14, PINK_DARK)
    c.box(12 - step, 10, 15 - step, 14, PINK_DARK)
    c.box(0, 2, 17, 11, PINK)
    c.box(0, 2, 17, 3, PINK_LIGHT, 0.03)
    c.box(14, 0, 22, 9, PINK)
    c.box(19, 4, 22, 7, PINK_LIGHT)
    c.texel(20, 5, PINK_DARK)
    c.texel(16, 3, WHITE)
    c.texel(17, 3, BLACK)


def _pig_front(c: _Canvas, step: int) -> None:
    c.box(1, 10 - step, 3, 14, PINK_DARK)
    c.box(7, 10 + step - 1, 9, 14, PINK_DARK)
    c.box(1, 2, 9, 11, PINK_DARK, 0.04)
    c.box(1, 0, 9, 8, PINK)
    c.box(3, 4, 7, 7, PINK_LIGHT)
    c.texel(4, 5, PINK_DARK)
    c.texel(5, 5, PINK_DARK)
    c.texel(2, 3, BLACK)
    c.texel(7, 3, BLACK)


def _pig_back(c: _Canvas, step: int) -> None:
    c.box(1, 10 - step, 3, 14, PINK_DARK)
    c.box(7, 10 + step - 1, 9, 14, PINK_DARK)
    c.box(1, 1, 9, 11, PINK)
    c.box(1, 1, 9, 2, PINK_LIGHT, 0.03)
    c.texel(5, 3, PINK_DARK)


def _chicken_side(c: _Canvas, step: int) -> None:
    c.box(4 + step, 12, 5 + step, 16, LEGS_ORANGE, 0.0)
    c.box(7 - step, 12, 8 - step, 16, LEGS_ORANGE, 0.0)
    c.box(0, 5, 3, 9, WHITE)
    c.box(1, 6, 10, 13, WHITE)
    c.box(3, 8, 8, 11, WHITE_SHADE)
    c.box(7, 0, 11, 7, WHITE)
    c.texel(9, 2, BLACK)
    c.box(11, 3, 13, 5, BEAK, 0.0)
    c.box(10, 5, 12, 7, WATTLE, 0.0)


def _chicken_front(c: _Canvas, step: int) -> None:
    c.box(2, 12 - step, 3, 16, LEGS_ORANGE, 0.0)
    c.box(5, 12 + step - 1, 6, 16, LEGS_ORANGE, 0.0)
    c.box(1, 6, 7, 13, WHITE_SHADE)
    c.box(2, 0, 6, 7, WHITE)
    c.texel(2, 2, BLACK)
    c.texel(5, 2, BLACK)
    c.box(3, 3, 5, 5, BEAK, 0.0)
    c.box(3, 5, 5, 7, WATTLE, 0.0)


def _chicken_back(c: _Canvas, step: int) -> None:
    c.box(2, 12 - step, 3, 16, LEGS_ORANGE, 0.0)
    c.box(5, 12 + step - 1, 6, 16, LEGS_ORANGE, 0.0)
    c.box(1, 4, 7, 13, WHITE)
    c.box(2, 0, 6, 5, WHITE_SHADE)


def _panda_side(c: _Canvas, step: int) -> None:
    c.box(1 + step, 13, 5 + step, 18, BLACK)
    c.box(12 - step, 13, 16 - step, 18, BLACK)
    c.box(0, 4, 20, 14, WHITE)
    c.box(11, 4, 16, 14, BLACK)
    c.box(17, 1, 26, 10, WHITE)
    c.box(18, 0, 20, 2, BLACK)
    c.box(23, 0, 25, 2, BLACK)
    c.box(21, 4, 24, 7, BLACK)
    c.texel(22, 5, WHITE)
    c.box(25, 6, 26, 8, BLACK)


def _panda_front(c: _Canvas, step: int) -> None:
    c.box(1, 13 - step, 4, 18, BLACK)
    c.box(10, 13 + step - 1, 13, 18, BLACK)
    c.box(1, 5, 13, 14, WHITE_SHADE)
    c.box(1, 9, 13, 11, BLACK)
    c.box(2, 0, 12, 9, WHITE)
    c.box(2, 0, 4, 2, BLACK)
    c.box(10, 0, 12, 2, BLACK)
    c.box(3, 3, 6, 6, BLACK)
    c.box(8, 3, 11, 6, BLACK)
    c.box(6, 6, 8, 8, BLACK)


def _panda_back(c: _Canvas, step: int) -> None:
    c.box(1, 13 - step, 4, 18, BLACK)
    c.box(10, 13 + step - 1, 13, 18, BLACK)
    c.box(1, 3, 13, 14, WHITE)
    c.box(1, 4, 13, 7, BLACK)
    c.box(2, 0, 12, 4, WHITE_SHADE)
    c.box(2, 0, 4, 2, BLACK)
    c.box(10, 0, 12, 2, BLACK)


# species -> (side, front, back) painters and their texel grid sizes (width, height)
_PAINTERS = {
    "pig": ((_pig_side, (22, 14)), (_pig_front, (10, 14)), (_pig_back, (10, 14))),
    "chicken": ((_chicken_side, (13, 16)), (_chicken_front, (8, 16)), (_chicken_back, (8, 16))),
    "panda": ((_panda_side, (26, 18)), (_panda_front, (14, 18)), (_panda_back, (14, 18))),
}


def paint(species: str, view: str, step: int) -> np.ndarray:
    """Return the RGBA texel grid of one species seen from `view` at walk step 0 or 1."""
    side, front, back = _PAINTERS[species]
    painter, (width, height) = {"right": side, "left": side, "front": front, "back": back}[view]
    canvas = _Canvas(width, height, seed=SPECIES.index(species) * 10 + VIEWS.index(view) // 2)
    painter(canvas, step)
    rgba = canvas.rgba
    return rgba[:, ::-1].copy() if view == "left" else rgba


def sprite_sheet() -> dict[tuple[str, str, int], tuple[np.ndarray, np.ndarray]]:
    """All sprites as {(species, view, step): (bgr texels, boolean mask)}."""
    sheet = {}
    for species in SPECIES:
        for view in VIEWS:
            for step in (0, 1):
                rgba = paint(species, view, step)
                sheet[species, view, step] = (np.ascontiguousarray(rgba[..., 2::-1]), rgba[..., 3] > 0)
    return sheet
