"""Dombrowski et al.'s protocol: another image's map as the target, softplus, Adam, the class kept."""

import pytest
import torch
from torch import nn

from engine.errors import SaviourError
from engine.explain import generate_masks
from engine.explain.metrics import pearson
from engine.explain.pair_attack import PairAttack
from engine.models.imagenet import ImageNetClassifier


def small_net(seed=0) -> ImageNetClassifier:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU6(), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 3))
    return ImageNetClassifier(net, ("a", "b", "c"), (0.5,) * 3, (0.5,) * 3, 24, 28).eval()


def photo(seed):
    return torch.rand(3, 24, 24, generator=torch.Generator().manual_seed(seed))



@pytest.mark.parametrize("method", ["gradient", "gradient_x_input", "integrated_gradients"])
def test_maps_are_the_absolute_attribution_summed_over_channels_and_sum_to_one(method):
    model, x = small_net(), photo(1)
    heat = PairAttack(method).explanation(model, x, 0)
    assert heat.shape == (24, 24) and torch.isclose(heat.sum(), torch.tensor(1.0)) and heat.min() >= 0
    z = model.normalised(x[None]).detach().requires_grad_(True)
    gradient, = torch.autograd.grad(model.net(z)[0, 0], z)
    if method == "gradient":
        expected = gradient.abs().sum(1)[0]
        torch.testing.assert_close(heat, expected / expected.sum())


@pytest.mark.parametrize("eps", [None, 8 / 255])
def test_the_attack_moves_the_map_toward_the_other_images_and_keeps_the_class(eps):
    model, x, other = small_net(), photo(1), photo(2)
    attack = PairAttack("gradient", steps=150, lr=0.01, eps=eps)
    goal = attack.explanation(model, other, int(model(other[None]).argmax()))
    before = attack.explanation(model, x, int(model(x[None]).argmax()))
    adversarial = attack(model, x, goal)
    after = attack.explanation(model, adversarial, int(model(x[None]).argmax()))
    assert int(model(adversarial[None]).argmax()) == int(model(x[None]).argmax())
    assert pearson(after, goal) > pearson(before, goal) + 0.2
    assert adversarial.min() >= 0 and adversarial.max() <= 1
    if eps is not None:
        assert (adversarial - x).abs().max() <= eps + 1e-6


def test_rise_maps_are_the_papers_estimator_over_fixed_masks():
    model, x = small_net(), photo(3)
    masks = generate_masks(32, 4, 0.5, (24, 24), generator=torch.Generator().manual_seed(0))
    heat = PairAttack("rise", masks=masks).explanation(model, x, 1)
    assert torch.isclose(heat.sum(), torch.tensor(1.0)) and heat.min() >= 0


@pytest.mark.parametrize("settings, message", [
    ({"method": "lrp"}, "cannot attack 'lrp' explanations"),
    ({"method": "rise"}, "needs fixed masks"),
    ({"eps": 2.0}, "eps must be in (0, 1]"),
])
def test_bad_settings_are_named(settings, message):
    with pytest.raises(SaviourError, match=message.replace("(", r"\(").replace(")", r"\)")):
        PairAttack(**settings)
