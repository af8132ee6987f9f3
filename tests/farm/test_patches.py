import numpy as np
import pytest

from engine.models import HUNTER_LABELS
from farm.patches import label_windows, world_patches
from farm.world import Animal

CHICKEN, TERRAIN = HUNTER_LABELS.index("chicken"), HUNTER_LABELS.index("terrain")


def chicken(x0, y0, size, visible=1.0):
    return Animal("chicken", (x0, y0, x0 + size * 0.8, y0 + size), visible, 3.0)


@pytest.mark.parametrize("animal, expected", [
    (chicken(16, 15, 15), CHICKEN),               # centred, fills 60% of the window
    (chicken(16, 15, 15, visible=0.3), -1),       # mostly hidden: left out
    (chicken(200, 200, 15), TERRAIN),             # elsewhere
    (chicken(36, 15, 15), TERRAIN),               # centre far outside the window
    (chicken(25, 15, 15), -1),                    # between centred and far: left out
    (chicken(22, 20, 4), TERRAIN),                # tiny
    (chicken(0, -20, 60), TERRAIN),               # much bigger than the window: only a part shows
])
def test_window_labels(animal, expected):
    labels, _ = label_windows(np.array([[10, 10]]), [animal], 1.0, 1.0)   # window [10, 35) x [10, 35)
    assert labels[0] == expected


def test_world_patches_are_seeded_and_labelled():
    a, la = world_patches([3], frames_per_world=2, seed=5)
    b, lb = world_patches([3], frames_per_world=2, seed=5)
    np.testing.assert_array_equal(a, b)
    assert a.shape[1:] == (25, 25, 3) and a.dtype == np.uint8
    assert set(np.unique(la)) <= set(range(4)) and TERRAIN in la


def test_world_patches_do_not_depend_on_the_number_of_threads():
    one, labels_one = world_patches([3, 4], frames_per_world=2, seed=5)
    two, labels_two = world_patches([3, 4], frames_per_world=2, seed=5, workers=2)
    np.testing.assert_array_equal(one, two)
    np.testing.assert_array_equal(labels_one, labels_two)
    alone, _ = world_patches([4], frames_per_world=2, seed=5)
    np.testing.assert_array_equal(one[-len(alone):], alone)   # a world's patches ignore the others
