import numpy as np

from engine.detection.detections import Detections
from engine.models.hunter import HUNTER_LABELS
from realtime.pipeline.overlay import WHITE, after_panel, before_panel, put_label, side_by_side
from realtime.pipeline.defended import FrameResult
from farm.world import FarmWorld


def test_label_outline_hugs_its_text():
    # the dark outline must frame the light text, not drift beside it (a thicker stroke is a wider face)
    frame = np.full((40, 300, 3), 128, np.uint8)
    put_label(frame, "AFTER: camouflage blocks", (8, 25), (255, 255, 255), scale=0.55)
    light = np.nonzero(frame[..., 0] > 200)[1]
    dark = np.nonzero(frame[..., 0] < 60)[1]
    assert abs(int(dark.max()) - int(light.max())) <= 2 and abs(int(dark.min()) - int(light.min())) <= 2


def test_a_label_at_the_right_edge_is_moved_inside_the_frame():
    frame = np.full((40, 120, 3), 128, np.uint8)
    put_label(frame, "chicken 1.00", (100, 25), (255, 255, 255))
    light = np.nonzero(frame[..., 0] > 200)[1]
    assert light.max() < 119 and light.min() < 100   # the whole text shows, shifted left


def test_side_by_side_is_the_two_panels_as_drawn_alone():
    frame = FarmWorld(seed=4242, size=(320, 180)).render(0)[0]
    found = Detections(np.array([[40, 60, 80, 100], [200, 50, 260, 120]], np.float32), np.array([0, 1]),
                       np.array([0.999, 0.995], np.float32), HUNTER_LABELS)
    result = FrameResult(frame, found, frame.copy(), found.of_class("pig"))
    both = side_by_side(result, "camouflage", fps=30.0)
    after = after_panel(result, "camouflage")
    put_label(after, " 30.0 FPS", (after.shape[1] - 90, 20), WHITE, scale=0.5)
    assert np.array_equal(both, np.concatenate([before_panel(result), after], axis=1))
    assert not np.array_equal(both[:, :320], frame)   # something was drawn on the clean frame's copy
