import numpy as np

from engine.detection.detections import Detections
from engine.models import HUNTER_LABELS
from farm.evaluate import Evaluation
from farm.world import Animal


def test_tallies_by_hand():
    animals = [
        Animal("chicken", (0, 0, 30, 30), 1.0, 2.0),      # counted, found
        Animal("chicken", (100, 0, 130, 30), 1.0, 2.0),   # counted, missed
        Animal("chicken", (200, 0, 210, 10), 1.0, 9.0),   # too small: a detection on it counts neither way
        Animal("pig", (300, 0, 340, 30), 0.3, 3.0),       # mostly hidden: not counted
    ]
    boxes = [[10, 10, 20, 20], [12, 12, 18, 18], [200, 0, 210, 10], [400, 0, 420, 20], [300, 0, 340, 30]]
    names = ["chicken", "chicken", "chicken", "chicken", "pig"]
    ids = np.array([HUNTER_LABELS.index(n) for n in names])
    detections = Detections(np.array(boxes, np.float32), ids, np.ones(5, np.float32), HUNTER_LABELS)
    evaluation = Evaluation()
    evaluation.add(detections, animals, min_height=20)
    chicken, pig = evaluation.tallies["chicken"], evaluation.tallies["pig"]
    assert (chicken.found, chicken.to_find) == (1, 2)
    assert (chicken.correct, chicken.detected) == (2, 3)       # two on the big chicken, one on empty grass
    assert (pig.found, pig.to_find, pig.correct, pig.detected) == (0, 0, 0, 0)
