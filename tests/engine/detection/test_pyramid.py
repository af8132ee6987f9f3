import numpy as np
import pytest

from engine.detection.hunter import default_scales
from engine.detection.pyramid import TILE, changed_rects, edited_pyramid, pyramid
from farm.world import FarmWorld


def _edited(frame, rng, edits):
    out = frame.copy()
    height, width = frame.shape[:2]
    for _ in range(edits):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        side = int(rng.integers(1, max(2, height // 4)))
        out[y:y + side, x:x + side] = rng.integers(0, 256, 3)
    return out


@pytest.mark.parametrize("size", [(640, 360), (1280, 720), (333, 197), (90, 54)])
def test_edited_pyramid_equals_a_fresh_pyramid_pixel_for_pixel(size, rng):
    world = FarmWorld(seed=3, size=size, noise=3)
    scales = default_scales(size[1])
    for i in range(6):
        frame = world.render(i)[0]
        edited = _edited(frame, rng, edits=i % 4)
        levels = edited_pyramid(pyramid(frame, scales), frame, edited)
        fresh = pyramid(edited, scales)
        assert len(levels) == len(fresh) > 0
        for got, want in zip(levels, fresh):
            np.testing.assert_array_equal(got.image, want.image)
            assert (got.fx, got.fy) == (want.fx, want.fy)


def test_edited_pyramid_handles_enlarged_levels(rng):
    frame = rng.integers(0, 256, (40, 64, 3), dtype=np.uint8)
    edited = _edited(frame, rng, edits=2)
    scales = (1.7, 0.85)    # a user's scales may enlarge a small frame
    for got, want in zip(edited_pyramid(pyramid(frame, scales), frame, edited), pyramid(edited, scales)):
        np.testing.assert_array_equal(got.image, want.image)


def test_changed_rects_cover_every_changed_pixel_in_a_few_tiles():
    old = np.zeros((100, 150, 3), np.uint8)
    new = old.copy()
    new[10:20, 12:30, 1] = 1      # the smallest change counts
    new[99, 149] = 255            # a corner pixel, in a partial tile
    rects = changed_rects(old, new)
    assert sorted(rects) == [(0, 0, 2 * TILE, 2 * TILE), (144, 96, 150, 100)]
    assert changed_rects(old, old.copy()) == []
