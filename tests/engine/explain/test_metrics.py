import math

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity
from torch import nn

from engine.explain.metrics import blur, compare_maps, deletion_auc, heat_share, insertion_auc, pointing_hit, ssim_torch


def test_identical_maps_compare_perfectly_whatever_their_scale():
    a = np.random.default_rng(0).random((32, 32))
    result = compare_maps(a, 3 * a + 1)
    assert result["ssim"] == pytest.approx(1.0)
    assert result["mse"] < 1e-20 and result["psnr"] > 150
    assert compare_maps(a, a)["psnr"] == math.inf


def test_different_maps_score_lower():
    rng = np.random.default_rng(0)
    a, b = rng.random((32, 32)), rng.random((32, 32))
    result = compare_maps(a, b)
    assert result["ssim"] < 0.2 and result["mse"] > 0.05
    assert result["psnr"] == pytest.approx(10 * math.log10(1 / result["mse"]))


def test_torch_ssim_is_scikit_images_and_has_a_gradient():
    rng = np.random.default_rng(0)
    for a, b in [(rng.random((32, 40)), rng.random((32, 40))), (rng.random((24, 24)) ** 3, np.eye(24))]:
        a, b = torch.tensor(a, dtype=torch.float32, requires_grad=True), torch.tensor(b, dtype=torch.float32)
        value = ssim_torch(a, b)
        expected = structural_similarity(a.detach().double().numpy(), b.double().numpy(), data_range=1.0)
        assert value.item() == pytest.approx(expected, abs=1e-6)
        value.backward()
        assert a.grad.abs().sum() > 0


@pytest.mark.parametrize("peak, hit", [((20, 20), True), ((20, 44), True), ((20, 46), False), ((56, 56), False)])
def test_pointing_game_allows_fifteen_pixels(peak, hit):
    saliency = np.zeros((64, 64))
    saliency[peak] = 1.0                      # (row, column)
    assert pointing_hit(saliency, (10, 10, 30, 30)) is hit


class FirstPixel(nn.Module):
    """Class 0 logit = 8 * (top-left pixel of channel 0); class 1 logit = 0."""

    neutral_input = 0.5   # what a removed pixel becomes

    def forward(self, x):
        return torch.stack([8 * x[:, 0, 0, 0], torch.zeros(len(x))], 1)


def test_deletion_curve_by_hand():
    image = torch.ones(3, 2, 2)
    first = torch.tensor([[1.0, 0.0], [0.0, 0.0]])     # the pixel that matters first
    sigmoid8 = 1 / (1 + math.exp(-8))
    sigmoid4 = 1 / (1 + math.exp(-4))
    # 4 steps of 1 pixel; a removed pixel is 0.5: probabilities sigmoid(8), sigmoid(4) x 4
    expected = ((sigmoid8 + sigmoid4) / 2 + sigmoid4 * 3) / 4
    assert deletion_auc(FirstPixel(), image, first, target=0, step=1) == pytest.approx(expected)
    assert deletion_auc(FirstPixel(), image, 1 - first, target=0, step=1) > expected


def test_insertion_rewards_a_map_that_finds_the_evidence_first():
    torch.manual_seed(0)
    image = torch.rand(3, 16, 16) * 0.2
    image[:, 4:8, 4:8] = 1.0                  # the bright square is the evidence
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 16 * 16, 2))
    with torch.no_grad():
        model[1].weight.zero_()
        model[1].bias.zero_()
        model[1].weight[0] = (image > 0.5).float().flatten() * 0.5
        model[1].bias[0] = -12   # the full square gives logit +12, a blurred one about -5
    good = torch.zeros(16, 16)
    good[4:8, 4:8] = 1
    bad = 1 - good
    assert insertion_auc(model, image, good, 0, step=8) > insertion_auc(model, image, bad, 0, step=8) + 0.2
    assert deletion_auc(model, image, good, 0, step=8) < deletion_auc(model, image, bad, 0, step=8) - 0.2


def test_blur_keeps_a_flat_image_and_smooths_an_edge():
    flat = torch.full((3, 20, 20), 0.4)
    torch.testing.assert_close(blur(flat), flat)
    edge = torch.zeros(1, 20, 20)
    edge[:, :, 10:] = 1
    blurred = blur(edge)
    assert 0.1 < blurred[0, 10, 9] < 0.5 < blurred[0, 10, 10] < 0.9


def test_heat_share_is_the_scaled_heat_inside_the_region():
    saliency = np.zeros((4, 4))
    saliency[0, 0], saliency[3, 3] = 3.0, 1.0   # scaled: 1 inside the region, 1/3 outside
    region = np.zeros((4, 4), bool)
    region[:2, :2] = True
    assert heat_share(saliency + 7, region) == pytest.approx(0.75)   # the offset is scaled away
    assert heat_share(np.ones((4, 4)), region) == pytest.approx(0.25)   # no heat: spread evenly
