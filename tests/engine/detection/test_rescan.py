"""Re-detection after blocks are pasted must equal a fresh detection, while scoring only what changed."""

import numpy as np
import pytest
import torch

from blocks.choices import DEFAULT_LIBRARY
from blocks.library import BlockLibrary
from engine.detection.hunter import HunterDetector
from engine.errors import SaviourError
from engine.models import HUNTER_LABELS, load_classifier
from engine.detection.rescan import QUANTUM, cell_crop, cell_groups, changed_windows, pack, window_count
from realtime.pipeline.defended import pipeline_for
from farm.world import FarmWorld


@pytest.fixture(scope="module")
def hunter():
    return load_classifier("hunter", device="cpu")


@pytest.mark.parametrize("stride", [9, 3])
def test_rescan_of_a_defended_frame_equals_a_fresh_scan(hunter, stride):
    detector = HunterDetector(hunter, stride=stride)
    pipeline = pipeline_for(detector, BlockLibrary.load(DEFAULT_LIBRARY, HUNTER_LABELS, 25), "camouflage+decoys")
    world = FarmWorld(seed=4242)
    frames = [world.render(i)[0] for i in (0, 40)]
    clean = detector.scan(frames)
    clean_logits = [[maps.clone() for maps in scan.logits] for scan in clean]
    defended = [pipeline.defend(frame, scan.detections)[0] for frame, scan in zip(frames, clean)]
    rescanned, fresh = detector.rescan(defended, clean), detector.scan(defended)
    for again, new in zip(rescanned, fresh):
        for a, b in zip(again.logits, new.logits):
            torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(again.detections.xyxy, new.detections.xyxy, atol=1e-3)
        np.testing.assert_array_equal(again.detections.class_id, new.detections.class_id)
    for scan, kept in zip(clean, clean_logits):     # other defences start from the clean scan too
        for maps, before in zip(scan.logits, kept):
            torch.testing.assert_close(maps, before, rtol=0, atol=0)


def test_rescan_of_an_unchanged_frame_reruns_nothing(hunter):
    detector = HunterDetector(hunter)
    frame = FarmWorld(seed=3).render(0)[0]
    scan = detector.scan([frame])[0]
    again = detector.rescan([frame.copy()], [scan])[0]
    assert all(a is b for a, b in zip(again.logits, scan.logits))


def test_changed_windows_are_exactly_those_overlapping_a_changed_pixel(rng):
    old = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)
    new = old.copy()
    new[40, 13, 2] ^= 1                       # one channel of one pixel
    offsets = [(0, 0), (3, 6)]
    grid = (5, 7)
    changed = changed_windows(old, new, offsets, grid)
    for (dy, dx), cells in zip(offsets, changed):
        expected = np.array([[9 * r + dy <= 40 < 9 * r + dy + 25 and 9 * c + dx <= 13 < 9 * c + dx + 25
                              for c in range(grid[1])] for r in range(grid[0])])
        np.testing.assert_array_equal(cells, expected)
    assert changed_windows(old, old.copy(), offsets, grid) is None


def test_cell_groups_are_the_bounding_boxes_of_touching_cells():
    cells = np.zeros((9, 20), bool)
    cells[1:3, 2:4] = True
    cells[3, 4] = True           # touches the first group at a corner
    cells[6, 15:19] = True
    assert sorted(cell_groups(cells)) == [(1, 2, 4, 5), (6, 15, 7, 19)]


def test_packed_crops_score_as_they_would_alone(random_hunter, rng):
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    rects = [(0, 0, 4, 4), (2, 5, 6, 13), (1, 10, 5, 14)]
    crops = [cell_crop(image, rect, (0, 0)) for rect in rects]
    canvas, starts = pack(crops)
    assert all(window_count(n) % QUANTUM == 0 for n in canvas.shape[:2])   # so canvas shapes recur

    def logits(picture):
        x = torch.from_numpy(np.ascontiguousarray(picture[..., ::-1])).permute(2, 0, 1)[None].float() / 255
        with torch.no_grad():
            return random_hunter.dense_logits(x)[0]

    packed = logits(canvas)
    for crop, (r0, c0, r1, c1), start in zip(crops, rects, starts):
        torch.testing.assert_close(packed[:, :r1 - r0, start:start + c1 - c0], logits(crop), rtol=1e-5, atol=1e-5)


def test_rescan_refuses_a_frame_of_another_size(hunter):
    detector = HunterDetector(hunter)
    scan = detector.scan([FarmWorld(seed=3).render(0)[0]])[0]
    with pytest.raises(SaviourError, match="rescan needs frames of the scanned size"):
        detector.rescan([np.zeros((100, 120, 3), np.uint8)], [scan])
