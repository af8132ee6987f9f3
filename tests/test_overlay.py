import numpy as np

from realtime.overlay import put_label


def test_label_outline_hugs_its_text():
    # the dark outline must frame the light text, not drift beside it (a thicker stroke is a wider face)
    frame = np.full((40, 300, 3), 128, np.uint8)
    put_label(frame, "AFTER: camouflage blocks", (8, 25), (255, 255, 255), scale=0.55)
    light = np.nonzero(frame[..., 0] > 200)[1]
    dark = np.nonzero(frame[..., 0] < 60)[1]
    assert abs(int(dark.max()) - int(light.max())) <= 2 and abs(int(dark.min()) - int(light.min())) <= 2
