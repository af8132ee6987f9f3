import numpy as np
import pytest
import torch
from torch import nn

from engine.errors import SaviourError
from engine.explain import ClassProbability, DenseClassEvidence, generate_masks, rise
from engine.explain.metrics import pearson
from engine.explain.rise import masked_images
from engine.models import Hunter


def tiny_classifier(classes=3, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2), nn.Flatten(),
                         nn.Linear(16, classes)).eval()


def image(size=(24, 32), seed=1):
    return torch.rand(3, *size, generator=torch.Generator().manual_seed(seed))


def test_masks_are_seeded_in_range_and_average_p1():
    masks = generate_masks(2000, 8, 0.3, (40, 56), generator=torch.Generator().manual_seed(0))
    again = generate_masks(2000, 8, 0.3, (40, 56), generator=torch.Generator().manual_seed(0))
    assert masks.shape == (2000, 1, 40, 56)
    assert torch.equal(masks, again)
    assert masks.min() >= 0 and masks.max() <= 1
    assert abs(masks.mean().item() - 0.3) < 0.01


def test_masks_are_upsampled_grids_cropped_at_a_shift():
    """Each mask is a bilinear upsampling of an s x s binary grid: inside one cell it varies smoothly,
    and every mask has both fully kept and fully dropped pixels when its grid has both."""
    masks = generate_masks(50, 4, 0.5, (32, 32), generator=torch.Generator().manual_seed(3))
    step = (masks[:, :, 1:] - masks[:, :, :-1]).abs().max()
    assert step <= 1 / 10 + 1e-6   # 4 grid cells upsampled to (4+1)*8 = 40 px: ramps of 10 px
    assert ((masks == 0).flatten(1).any(1) | (masks == 1).flatten(1).any(1)).all()


@pytest.mark.parametrize("estimator", ["paper", "centred"])
def test_rise_matches_the_formula_in_float64_numpy(estimator):
    model, x = tiny_classifier(), image()
    masks = generate_masks(300, 5, 0.5, (24, 32), generator=torch.Generator().manual_seed(2))
    ours = rise(model, x, masks=masks, p1=0.5, target=None, batch_size=64, estimator=estimator).numpy()

    m = masks.double().numpy()
    with torch.no_grad():
        probs = model((x.unsqueeze(0) * masks)).double().softmax(1).numpy()   # N x K
    if estimator == "centred":
        probs = probs - probs.mean(0)
    expected = np.einsum("nk,nhw->khw", probs, m[:, 0]) / (len(m) * 0.5)
    assert ours.shape == (3, 24, 32)
    np.testing.assert_allclose(ours, expected, rtol=1e-5, atol=1e-6)



@pytest.mark.parametrize("sampler", ["random", "sobol"])
def test_the_centred_estimator_needs_fewer_masks_for_the_same_map(sampler):
    """Against a 16,000-mask map, 250 masks centred beat 1000 masks of the paper's estimator."""
    model, x = tiny_classifier(), image()
    reference = rise(model, x, n=16000, s=5, target=1, generator=torch.Generator().manual_seed(0))
    masks = generate_masks(250, 5, 0.5, (24, 32), torch.Generator().manual_seed(1), sampler=sampler)
    centred = rise(model, x, masks=masks, target=1)
    paper = rise(model, x, n=1000, s=5, target=1, generator=torch.Generator().manual_seed(1), estimator="paper",
                 sampler="random")
    assert pearson(centred, reference) > pearson(paper, reference) + 0.05


def test_sobol_masks_are_seeded_masks_like_random_ones():
    masks = generate_masks(512, 8, 0.3, (40, 56), generator=torch.Generator().manual_seed(0), sampler="sobol")
    again = generate_masks(512, 8, 0.3, (40, 56), generator=torch.Generator().manual_seed(0), sampler="sobol")
    assert masks.shape == (512, 1, 40, 56) and torch.equal(masks, again)
    assert masks.min() >= 0 and masks.max() <= 1 and abs(masks.mean().item() - 0.3) < 0.01


def test_masked_pixels_take_the_models_neutral_input():
    model, x = tiny_classifier(), image()
    masks = generate_masks(40, 4, 0.5, (24, 32), generator=torch.Generator().manual_seed(7))
    model.neutral_input = 0.5
    with torch.no_grad():
        probs = model(x * masks + 0.5 * (1 - masks)).softmax(1)[:, 1]
    expected = (probs[:, None, None] * masks[:, 0]).sum(0) / (40 * 0.5)
    paper = dict(masks=masks, target=1, estimator="paper")
    torch.testing.assert_close(rise(model, x, **paper), expected, rtol=1e-5, atol=1e-7)
    assert not torch.allclose(rise(model, x, **paper, baseline=0.0), expected, rtol=1e-3)


@pytest.mark.parametrize("baseline", [0.0, 0.5, torch.tensor([0.4, 0.5, 0.6]).reshape(3, 1, 1)])
def test_masked_images_blend_image_and_baseline_in_channels_last_memory(baseline):
    x, masks = image(), generate_masks(6, 4, 0.5, (24, 32), generator=torch.Generator().manual_seed(3))
    batch = masked_images(x, masks, baseline)
    torch.testing.assert_close(batch, x * masks + baseline * (1 - masks))
    assert batch.is_contiguous(memory_format=torch.channels_last)


def test_one_target_is_one_of_all_and_batch_size_does_not_matter():
    model, x = tiny_classifier(), image()
    masks = generate_masks(200, 4, 0.5, (24, 32), generator=torch.Generator().manual_seed(4))
    every = rise(model, x, masks=masks, batch_size=200)
    one = rise(model, x, masks=masks, target=2, batch_size=7)
    assert one.shape == (24, 32)
    torch.testing.assert_close(one, every[2], rtol=1e-5, atol=1e-6)
    batch = rise(model, torch.stack([x, image(seed=5)]), masks=masks, target=ClassProbability(1))
    assert batch.shape == (2, 24, 32)
    torch.testing.assert_close(batch[0], every[1], rtol=1e-5, atol=1e-6)


def test_rise_is_differentiable_with_respect_to_the_input():
    model = tiny_classifier()
    x = image().requires_grad_(True)
    masks = generate_masks(64, 4, 0.5, (24, 32), generator=torch.Generator().manual_seed(5))
    saliency = rise(model, x, masks=masks, target=0)
    (saliency[:12] ** 2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


@pytest.mark.parametrize("target", [0, None])
def test_batched_gradients_equal_one_pass_gradients(target):
    """With more masks than one batch, the gradient is recomputed batch by batch (bounded memory):
    the same map and the same gradient as one pass over all masks."""
    model = tiny_classifier()
    masks = generate_masks(100, 4, 0.5, (24, 32), generator=torch.Generator().manual_seed(5))
    goal = torch.rand(24, 32, generator=torch.Generator().manual_seed(9))
    maps, grads = [], []
    for batch_size in (100, 16):
        x = image().requires_grad_(True)
        saliency = rise(model, x, masks=masks, target=target, batch_size=batch_size)
        ((saliency - goal) ** 2).sum().backward()
        maps.append(saliency.detach())
        grads.append(x.grad)
    torch.testing.assert_close(maps[1], maps[0], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(grads[1], grads[0], rtol=1e-4, atol=1e-6)
    assert grads[0].abs().sum() > 0


def test_rise_explains_the_hunters_dense_chicken_evidence():
    torch.manual_seed(0)
    hunter = Hunter().eval()
    frame = image((45, 72))
    masks = generate_masks(100, 4, 0.5, (45, 72), generator=torch.Generator().manual_seed(6))
    evidence = DenseClassEvidence(0)
    saliency = rise(hunter.dense_logits, frame, masks=masks, target=evidence, estimator="paper")
    with torch.no_grad():
        scores = evidence(hunter.dense_logits(frame.unsqueeze(0) * masks + 0.5 * (1 - masks)))
    expected = (scores[:, None, None] * masks[:, 0]).sum(0) / (100 * 0.5)
    torch.testing.assert_close(saliency, expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("settings, message", [
    ({"n": 0}, "at least one mask"),
    ({"p1": 1.0}, "p1"),
    ({"p1": 0.0}, "p1"),
    ({"s": 40}, "grid size s"),
    ({"target": 3}, "out of range"),
    ({"estimator": "mean"}, "unknown RISE estimator 'mean'"),
])
def test_bad_rise_settings_name_the_setting(settings, message):
    with pytest.raises(SaviourError, match=message):
        rise(tiny_classifier(), image(), **{"n": 10, **settings})
