"""The dense pass must give every window exactly what the notebook's crop-by-crop loop gives it."""

import numpy as np
import pytest
import torch

from engine.detection.hunter import WINDOW, HunterDetector, bgr_to_tensor
from engine.models import Hunter, load_classifier
from engine.detection.pyramid import pyramid


def loop_probabilities(classifier, level, dy, dx, rows, cols):
    out = np.zeros((len(classifier.labels), rows, cols), np.float32)
    for r in range(rows):
        for c in range(cols):
            y, x = 9 * r + dy, 9 * c + dx
            crop = level[:, :, y:y + WINDOW, x:x + WINDOW]
            out[:, r, c] = classifier(crop).softmax(1)[0].numpy()
    return out


@pytest.mark.parametrize("weights", ["random", "shipped"])
@pytest.mark.parametrize("stride", [9, 3])
def test_dense_windows_match_per_window_loop(weights, stride, random_hunter, rng):
    classifier = random_hunter if weights == "random" else load_classifier("hunter", device="cpu")
    detector = HunterDetector(classifier, stride=stride)
    image = rng.integers(0, 256, (61, 83, 3), dtype=np.uint8)
    level = bgr_to_tensor([image], torch.device("cpu")).contiguous()
    with torch.no_grad():
        dense, offsets = detector.dense_probabilities(level)
        assert len(offsets) == (9 // stride) ** 2
        for k, (dy, dx) in enumerate(offsets):
            rows, cols = dense.shape[2], dense.shape[3]
            assert 9 * (rows - 1) + dy + WINDOW <= level.shape[2]
            expected = loop_probabilities(classifier, level, dy, dx, rows, cols)
            np.testing.assert_allclose(dense[k].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_a_frames_levels_score_every_window_as_the_loop_does(random_hunter, rng):
    """What the bench times as dense scoring (all levels on one canvas) against its per-window loop."""
    frame = rng.integers(0, 256, (120, 200, 3), dtype=np.uint8)
    detector = HunterDetector(random_hunter)
    levels = pyramid(frame, detector.scales_for(120))
    assert len(levels) > 1
    for level, probabilities in zip(levels, detector.level_probabilities(levels)):
        image = bgr_to_tensor([level.image], torch.device("cpu"))
        with torch.no_grad():
            expected = loop_probabilities(random_hunter, image, 0, 0, *probabilities.shape[2:])
        assert 9 * (probabilities.shape[3] - 1) + WINDOW <= image.shape[3] < 9 * probabilities.shape[3] + WINDOW
        np.testing.assert_allclose(probabilities[0].numpy(), expected, rtol=1e-5, atol=1e-6)


def test_dense_grid_covers_every_window_position(random_hunter):
    level = torch.rand(1, 3, 61, 83)
    with torch.no_grad():
        dense, _ = HunterDetector(random_hunter).dense_probabilities(level)
    # positions 0, 9, ... while a full 25-px window fits
    assert dense.shape[2:] == ((61 - WINDOW) // 9 + 1, (83 - WINDOW) // 9 + 1)


def _hunter(filters: int) -> Hunter:
    torch.manual_seed(0)
    return Hunter(filters=filters).eval()


@pytest.mark.parametrize("filters", [7, 8, 12])   # the notebook's, no padding, padding to 16
def test_folded_fast_path_equals_the_layers_as_written(filters):
    """The hunter folds its input standardisation into conv1 and pools before each ReLU for speed;
    the result must be the plain layer stack applied to the standardised input, gradients included."""
    random_hunter = _hunter(filters)
    x = torch.rand(2, 3, 61, 83, requires_grad=True)
    plain = random_hunter.features((x - 0.5) * 4.0)
    plain_grad, = torch.autograd.grad(plain.sum(), x)
    fast = random_hunter._feature_map(x)
    fast_grad, = torch.autograd.grad(fast.sum(), x)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fast_grad, plain_grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("filters", [7, 8, 12])
@pytest.mark.parametrize("width", [83, 84])   # an odd and an even number of first-layer columns
def test_inference_path_with_paired_columns_equals_the_layers_as_written(filters, width):
    """Without gradients, wide inputs run the first convolution as a stride-2 one that gives two
    columns per position; every column must be what the plain layers give."""
    random_hunter = _hunter(filters)
    x = torch.rand(2, 3, 61, width).contiguous(memory_format=torch.channels_last)
    with torch.no_grad():
        plain = random_hunter.features((x - 0.5) * 4.0)
        fast = random_hunter._feature_map(x)
    torch.testing.assert_close(fast, plain, rtol=1e-5, atol=1e-5)
