"""The explanation attack: budget, prediction, the map moving toward the target, softplus copies."""

import pytest
import torch
from torch import nn

from engine.errors import SaviourError
from engine.explain import explain, generate_masks
from engine.explain.attack import ExplanationAttack, away_target, blob, softplus_copy
from engine.explain.reach import reachable_ssim
from engine.explain.metrics import compare_maps

SIZE = (16, 16)


def small_classifier() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 6, 3, padding=1), nn.ReLU(), nn.Conv2d(6, 6, 3, padding=1), nn.ReLU(),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(6, 3)).eval()


def attack(method: str, steps: int, map_loss: str = "ssim") -> ExplanationAttack:
    masks = generate_masks(32, 4, 0.5, SIZE, generator=torch.Generator().manual_seed(0)) if method == "rise" else None
    return ExplanationAttack(method=method, eps=8 / 255, steps=steps, lr=0.01, masks=masks, map_loss=map_loss)


def map_distance(settings: ExplanationAttack, model, image, goal) -> float:
    label = int(model(image[None]).argmax())
    return settings._true_map_loss(model, image[None], label, settings._scaled(goal))


EVERY_ATTACK = [(method, loss) for method in ("saliency", "rise") for loss in ("ssim", "mse")]


@pytest.fixture
def image():
    return torch.rand(3, *SIZE, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("method, map_loss", EVERY_ATTACK)
def test_the_map_moves_toward_the_target_within_budget_and_class(method, map_loss, image):
    model, settings = small_classifier(), attack(method, steps=20, map_loss=map_loss)
    goal = away_target(SIZE, (0, 0, 6, 6))
    adversarial = settings(model, image, goal)
    assert (adversarial - image).abs().max() <= settings.eps + 1e-6
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    assert model(adversarial[None]).argmax() == model(image[None]).argmax()
    assert map_distance(settings, model, adversarial, goal) < map_distance(settings, model, image, goal)


@pytest.mark.parametrize("method, map_loss", EVERY_ATTACK)
def test_one_step_returns_the_stepped_image_when_it_is_better(method, map_loss, image):
    model, settings = small_classifier(), attack(method, steps=1, map_loss=map_loss)
    goal = away_target(SIZE, (0, 0, 6, 6))
    adversarial = settings(model, image, goal)
    assert not torch.equal(adversarial, image)
    assert map_distance(settings, model, adversarial, goal) < map_distance(settings, model, image, goal)


def test_the_ssim_distance_is_the_reports_ssim_of_the_scaled_maps(image):
    model, settings = small_classifier(), attack("saliency", steps=1)
    goal = away_target(SIZE, (0, 0, 6, 6))
    label = int(model(image[None]).argmax())
    saliency = explain(model, image, "saliency", target=label)
    expected = 1 - compare_maps(saliency, goal)["ssim"]
    assert map_distance(settings, model, image, goal) == pytest.approx(expected, abs=1e-5)


def test_an_unknown_map_loss_is_refused():
    with pytest.raises(SaviourError, match="unknown map loss 'l1'.*ssim, mse"):
        ExplanationAttack(map_loss="l1")


def test_softplus_copy_shares_weights_and_leaves_the_model_alone():
    model = small_classifier()
    smooth = softplus_copy(model, beta=50.0)
    assert not any(isinstance(m, nn.ReLU) for m in smooth.modules())
    assert sum(isinstance(m, nn.Softplus) for m in smooth.modules()) == 2
    assert sum(isinstance(m, nn.ReLU) for m in model.modules()) == 2
    assert smooth[0].weight is model[0].weight
    x = torch.rand(1, 3, *SIZE, generator=torch.Generator().manual_seed(2))
    # a large beta makes softplus nearly ReLU
    assert torch.allclose(softplus_copy(model, 1e4)(x), model(x), atol=1e-3)


def test_softplus_copy_smooths_mobilenet_activations_which_have_no_second_derivative():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.Hardswish(), nn.Conv2d(4, 4, 1), nn.Hardsigmoid(), nn.ReLU6(),
                          nn.Flatten(), nn.LazyLinear(2))
    x = (torch.rand(1, 3, *SIZE, generator=torch.Generator().manual_seed(2)) * 8 - 4).requires_grad_(True)
    gradient, = torch.autograd.grad(model(x)[0, 0], x, create_graph=True)
    with pytest.raises(RuntimeError, match="derivative for"):
        gradient.abs().sum().backward()
    smooth = softplus_copy(model, beta=50.0)
    gradient, = torch.autograd.grad(smooth(x)[0, 0], x, create_graph=True)
    gradient.abs().sum().backward()
    assert x.grad.abs().sum() > 0
    with torch.no_grad():   # and a large beta gives the network back
        assert torch.allclose(softplus_copy(model, 1e4)(x), model(x), atol=1e-3)


class _FunctionalHardsigmoid(nn.Module):
    def forward(self, x):
        return nn.functional.hardsigmoid(x)


@pytest.mark.parametrize("stride, size", [(1, 9), (2, 9), (2, 10)])
def test_the_smooth_copys_grouped_convolutions_have_the_same_first_and_second_derivatives(stride, size):
    torch.manual_seed(0)
    conv = nn.Conv2d(4, 4, 3, stride=stride, padding=1, groups=4).double().requires_grad_(False)
    smooth = softplus_copy(nn.Sequential(conv), beta=10.0)
    assert type(smooth[0]).__name__ == "_GroupedConv"
    x = torch.rand(1, 4, size, size, dtype=torch.float64, requires_grad=True)
    weights = torch.rand_like(conv(x))
    second = []
    for net in (nn.Sequential(conv), smooth):
        gradient, = torch.autograd.grad((net(x) ** 2 * weights).sum(), x, create_graph=True)
        second.append((gradient, torch.autograd.grad((gradient ** 3).sum(), x)[0]))
    for ours, theirs in zip(second[1], second[0]):
        torch.testing.assert_close(ours, theirs)


def test_a_network_without_second_derivatives_is_refused_clearly(image):
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 6, 3), _FunctionalHardsigmoid(), nn.Flatten(), nn.LazyLinear(3)).eval()
    model(image[None])
    with pytest.raises(SaviourError, match="needs second derivatives.*try --method rise"):
        attack("saliency", steps=1)(model, image, away_target(SIZE, (0, 0, 6, 6)))


def test_a_target_that_is_itself_a_map_of_the_masks_is_reachable():
    masks = generate_masks(64, 4, 0.5, SIZE, generator=torch.Generator().manual_seed(3))
    scores = torch.rand(64, generator=torch.Generator().manual_seed(4))
    target = (scores @ masks.reshape(64, -1)).reshape(SIZE)
    assert reachable_ssim(masks, target) > 0.99


def test_few_coarse_masks_cannot_draw_a_sharp_blob_but_many_come_closer():
    target = blob((32, 32), (10, 10), 4.0)
    few, many = (generate_masks(n, 4, 0.5, (32, 32), generator=torch.Generator().manual_seed(5)) for n in (16, 256))
    assert reachable_ssim(few, target) < 0.6 < reachable_ssim(many, target)


def test_an_attack_on_rise_gets_no_closer_than_the_reachable_similarity(image):
    model, settings = small_classifier(), attack("rise", steps=2)
    goal = away_target(SIZE, (0, 0, 6, 6))
    adversarial = settings(model, image, goal)
    label = int(model(image[None]).argmax())
    reached = compare_maps(explain(model, adversarial, "rise", target=label, masks=settings.masks), goal)["ssim"]
    assert reached <= reachable_ssim(settings.masks, goal)
