import cv2
import numpy as np

from farm.world import FarmWorld
from tests.media import world_clip


def test_written_frames_come_back_in_their_colours(tmp_path):
    # a wrong colour conversion (swapped chroma planes, full against video range) shifts whole channels
    clip = world_clip(tmp_path / "clip.mp4", 3)
    capture = cv2.VideoCapture(str(clip))
    world = FarmWorld(seed=4242, size=(320, 180))   # the clip's world
    for i in range(3):
        got, want = capture.read()[1].astype(float), world.render(i)[0].astype(float)
        assert np.abs(got - want).mean(axis=(0, 1)).max() < 5
        assert np.abs(got.mean(axis=(0, 1)) - want.mean(axis=(0, 1))).max() < 1.5
