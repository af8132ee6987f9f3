import numpy as np

from realtime.overlay import put_label


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
