"""All levels of a frame on one canvas must score exactly as each level alone."""

import numpy as np
import pytest
import torch

from engine.detection.canvas import shelf_layout
from engine.detection.hunter import HunterDetector, bgr_to_tensor
from engine.detection.pyramid import pyramid


@pytest.mark.parametrize("sizes", [
    [(31, 52), (17, 28), (10, 15), (7, 9)],          # the levels of a 640x360 frame, in cells
    [(20, 20), (19, 30), (5, 5), (25, 3)],           # taller than the first: the canvas grows
    [(8, 8)],
])
def test_shelf_layout_places_rectangles_inside_the_canvas_without_overlap(sizes):
    origins, (height, width) = shelf_layout(sizes)
    assert origins[0] == (0, 0)
    taken = np.zeros((height, width), int)
    for (row, col), (rows, cols) in zip(origins, sizes):
        assert row + rows <= height and col + cols <= width
        taken[row:row + rows, col:col + cols] += 1
    assert taken.max() == 1


def test_a_pyramid_fills_a_canvas_as_tall_as_its_finest_level():
    origins, (height, width) = shelf_layout([(31, 52), (17, 28), (10, 15), (7, 9)])
    assert (height, width) == (31, 52 + 28)     # the smaller levels fit into one column beside it


@pytest.mark.parametrize("stride", [9, 3])
def test_a_single_frame_scores_every_level_as_that_level_alone(random_hunter, rng, stride):
    frame = rng.integers(0, 256, (200, 330, 3), dtype=np.uint8)
    detector = HunterDetector(random_hunter, stride=stride)
    scan = detector.scan([frame])[0]
    assert len(scan.levels) > 1
    for level, logits in zip(pyramid(frame, detector.scales_for(200)), scan.logits):
        alone, _ = detector.dense_logits(bgr_to_tensor([level.image], torch.device("cpu")))
        torch.testing.assert_close(logits, alone, rtol=1e-5, atol=1e-5)
