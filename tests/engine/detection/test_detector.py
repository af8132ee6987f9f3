import numpy as np
import pytest

from engine.detection.detections import Detections, aim, target_point
from engine.detection.hunter import HunterDetector, auto_min_size, default_scales
from engine.errors import SaviourError
from engine.models import HUNTER_LABELS, load_classifier
from engine.train import accuracy
from farm.evaluate import CONDITIONS, evaluate_detector
from farm.patches import world_patches
from farm.world import FarmWorld

EVAL_SEED = 1001   # never used for training (training worlds are seeds 0..79)


@pytest.fixture(scope="module")
def detector():
    return HunterDetector(load_classifier("hunter", device="cpu"))


@pytest.mark.parametrize("kwargs, message", [
    ({"stride": 0}, "stride"),
    ({"stride": 4}, "stride"),
    ({"threshold": 1.0}, "threshold"),
    ({"threshold": 0.0}, "threshold"),
    ({"scales": (0.5, -0.25)}, "scales"),
    ({"scales": ()}, "scales"),
    ({"min_size": 0}, "min_size"),
    ({"scales": (100,)}, r"scales must be numbers in \(0, 2\] \(a level at most 2x the frame's side\), got 100"),
    ({"min_size": 5}, "min_size must be at least 6.88 pixels"),
])
def test_bad_settings_are_refused(kwargs, message, random_hunter):
    with pytest.raises(SaviourError, match=message):
        HunterDetector(random_hunter, **kwargs)


def test_default_scales_cover_small_and_large_animals():
    scales = default_scales(360)
    assert scales[0] * 20 / 25 >= 0.5            # a 20-px animal fills at least half a window
    assert scales[-1] * 180 / 25 <= 0.95         # a half-frame animal still fits a window
    assert all(b / a == pytest.approx(0.5) for a, b in zip(scales, scales[1:]))


def test_a_min_size_in_proportion_to_the_frame_gives_the_same_pyramid():
    # what --min-size 60 buys a 1080p camera: the levels, and so the network's work, of 360p with 20
    small, large = default_scales(360, 20), default_scales(1080, 60)
    assert len(large) == len(small) and [1080 * s for s in large] == pytest.approx([360 * s for s in small])


def test_the_automatic_min_size_is_20_px_up_to_360p_then_follows_the_frame():
    assert [auto_min_size(h) for h in (120, 360, 720, 1080)] == [20, 20, 40, 60]
    assert default_scales(360) == default_scales(360, 20) and default_scales(200) == default_scales(200, 20)
    assert default_scales(1080) == default_scales(1080, 60)


def test_a_detector_seeks_what_its_min_size_says(random_hunter):
    assert HunterDetector(random_hunter).scales_for(720) == default_scales(720, 40)
    assert HunterDetector(random_hunter, min_size=20).scales_for(720) == default_scales(720, 20)


def detections(boxes, names):
    ids = np.array([HUNTER_LABELS.index(n) for n in names], np.int64)
    return Detections(np.array(boxes, np.float32).reshape(-1, 4), ids, np.ones(len(ids), np.float32), HUNTER_LABELS)


def test_aim_is_the_mean_of_chicken_centres():
    found = detections([[0, 0, 10, 10], [20, 0, 30, 10], [100, 100, 120, 120]], ["chicken", "chicken", "pig"])
    assert aim(found) == (15.0, 5.0)


def test_aim_is_none_without_chickens():
    assert aim(detections([[0, 0, 10, 10]], ["pig"])) is None
    assert aim(Detections.empty(HUNTER_LABELS)) is None


def test_batch_gives_the_same_detections_as_single_frames(detector):
    world = FarmWorld(seed=EVAL_SEED)
    frames = [world.render(i)[0] for i in range(3)]
    for single, batched in zip((detector(f) for f in frames), detector(frames)):
        np.testing.assert_allclose(single.xyxy, batched.xyxy, atol=1e-3)
        assert list(single.class_id) == list(batched.class_id)


def test_tiny_frame_gives_no_detections(detector):
    assert len(detector(np.zeros((12, 16, 3), np.uint8))) == 0


TARGET = 0.95


@pytest.mark.parametrize("condition", list(CONDITIONS))
def test_recall_and_precision_on_an_unseen_world(condition, detector):
    result = evaluate_detector(detector, seed=EVAL_SEED, frames=300, **CONDITIONS[condition])
    for species in ("chicken", "pig"):
        tally = result.tallies[species]
        assert tally.to_find > 50
        for metric in ("recall", "precision"):
            assert getattr(tally, metric) >= TARGET, f"{species} {metric} {getattr(tally, metric):.3f} < {TARGET}"


def test_patch_accuracy_on_unseen_worlds(detector):
    patches, labels = world_patches(range(2000, 2005), seed=2)
    assert accuracy(detector.classifier, patches, labels)["overall"] >= 0.985   # target 0.99; see README


def test_target_point_is_the_most_confident_chicken_then_the_largest():
    found = detections([[0, 0, 10, 10], [20, 0, 40, 20], [100, 100, 120, 120]], ["chicken", "chicken", "pig"])
    assert target_point(found) == (30.0, 10.0)          # equal scores: the larger box
    scored = Detections(found.xyxy, found.class_id, np.array([0.999, 0.995, 1.0], np.float32), HUNTER_LABELS)
    assert target_point(scored) == (5.0, 5.0)
    assert target_point(detections([[0, 0, 10, 10]], ["pig"])) is None


def test_the_window_grid_is_read_from_the_classifier(random_hunter):
    from engine.detection.grid import WindowGrid

    random_hunter.input_size, random_hunter.stride = 20, 6   # as a network of another geometry says
    detector = HunterDetector(random_hunter)
    assert detector.grid == WindowGrid(20, 6) and detector.grid.border == 10 and detector.offsets == [(0, 0)]
    assert HunterDetector(random_hunter, stride=3).offsets == [(0, 0), (0, 3), (3, 0), (3, 3)]
    with pytest.raises(SaviourError, match=r"stride must be 1, 2, 3, 6 pixels \(dividing the network's 6\), got 4"):
        HunterDetector(random_hunter, stride=4)
