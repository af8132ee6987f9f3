import pytest
import torch
from torch import nn

from engine.errors import SaviourError
from engine.explain import METHODS, explain


class Linear(nn.Module):
    """logit_k = sum(w_k * x): every method's answer can be written down by hand."""

    def __init__(self, classes=2, size=(8, 10)):
        super().__init__()
        self.w = nn.Parameter(torch.randn(classes, 3, *size, generator=torch.Generator().manual_seed(0)))

    def forward(self, x):
        return (x.unsqueeze(1) * self.w).flatten(2).sum(2)


def image(seed=1):
    return torch.rand(3, 8, 10, generator=torch.Generator().manual_seed(seed))


def test_saliency_is_the_largest_absolute_weight_over_channels():
    model, x = Linear(), image()
    torch.testing.assert_close(explain(model, x, "saliency", target=1), model.w[1].abs().amax(0).detach())


def test_integrated_gradients_of_a_linear_model_is_weight_times_input():
    model, x = Linear(), image()
    expected = (model.w[0] * x).sum(0).abs().detach()
    torch.testing.assert_close(explain(model, x, "integrated_gradients", target=0, steps=8), expected,
                               rtol=1e-4, atol=1e-5)


def test_occlusion_with_one_pixel_windows_is_each_pixels_contribution():
    model, x = Linear(), image()
    expected = (model.w[1] * x).sum(0).detach()
    torch.testing.assert_close(explain(model, x, "occlusion", target=1, window=1), expected, rtol=1e-4, atol=1e-5)


def test_gradcam_weights_the_last_conv_by_its_mean_gradient():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 2, 3, padding=1)
    model = nn.Sequential(conv, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(2, 2)).eval()
    x = image()
    activation = conv(x.unsqueeze(0))[0]
    weights = model[3].weight[1] / activation[0].numel()   # d logit / d activation, averaged over space
    expected = torch.relu((weights[:, None, None] * activation).sum(0)).detach()
    torch.testing.assert_close(explain(model, x, "gradcam", target=1), expected, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("method", [m for m in METHODS if m not in ("gradcam", "evidence")])
def test_no_target_explains_each_images_predicted_class(method):
    model = Linear()
    favours_0 = image(2) * (model.w[0] > model.w[1]).detach()
    x = torch.stack([image(1), favours_0])
    predicted = model(x).argmax(1).tolist()
    assert predicted == [1, 0]   # the two images disagree, so a mix-up would show

    def maps(target):
        return explain(model, x, method, target=target, n=64, window=4, generator=torch.Generator().manual_seed(0))

    assert maps(None).shape == (2, 8, 10)
    torch.testing.assert_close(maps(None), maps(predicted))


def test_the_evidence_map_is_the_class_logit_at_each_position_upsampled():
    from tests.engine.detection.test_evidence import LABELS, colour_classifier

    model, x = colour_classifier(), torch.full((3, 224, 224), 0.25)
    x[:, 48:112, 112:176] = 1.0                                  # white: the hen's evidence, map cells 2-3 x 4-5
    hen = explain(model, x, "evidence", target=LABELS.index("hen"))
    assert hen.shape == (224, 224)
    y, x_ = divmod(int(hen.argmax()), 224)
    assert 32 <= y <= 128 and 96 <= x_ <= 192
    coarse = model.evidence(x[None])[0, LABELS.index("hen")]
    assert hen.max() <= coarse.max() + 1e-4 and hen.min() >= coarse.min() - 1e-4


def test_the_evidence_method_needs_a_model_with_class_evidence():
    with pytest.raises(SaviourError, match="needs a model that ends in average pooling and a linear layer"):
        explain(Linear(), image(), "evidence", target=0)


def test_gradcam_without_a_conv_layer_says_so():
    with pytest.raises(SaviourError, match="convolutional layer"):
        explain(Linear(), image(), "gradcam")


def test_a_callable_target_explains_any_score():
    model, x = Linear(), image()
    difference = explain(model, x, "saliency", target=lambda out: out[:, 1] - out[:, 0])
    torch.testing.assert_close(difference, (model.w[1] - model.w[0]).abs().amax(0).detach())


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "lime"}, "unknown explanation method 'lime'"),
    ({"method": "saliency", "target": 5}, "out of range"),
    ({"method": "rise", "target": [0]}, "1 targets for 2 images"),
])
def test_bad_requests_are_named(kwargs, message):
    with pytest.raises(SaviourError, match=message):
        explain(Linear(), torch.stack([image(1), image(2)]), **kwargs)


def test_gradcam_of_the_hunter_uses_its_spatial_layer():
    # the hunter runs its convolutions on folded weights, so a hook on its Conv2d modules sees nothing
    from engine.detection.hunter import bgr_to_tensor
    from engine.models import load_classifier
    from farm.patches import world_patches

    hunter = load_classifier("hunter", device="cpu")
    patches, labels = world_patches([5000], frames_per_world=2, seed=0)
    chicken = bgr_to_tensor(patches[labels == 0][:1], torch.device("cpu"))
    cam = explain(hunter, chicken, "gradcam", target=0)
    assert cam.shape == (1, 25, 25) and torch.isfinite(cam).all() and cam.max() > cam.min()


def test_rise_under_bf16_autocast_runs_the_model_in_bf16_and_keeps_the_map():
    torch.manual_seed(0)
    conv = nn.Sequential(nn.Conv2d(3, 4, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2)).eval()
    seen = []
    conv[0].register_forward_hook(lambda module, inputs, output: seen.append(output.dtype))
    masks = torch.rand(64, 1, 8, 10, generator=torch.Generator().manual_seed(2))
    x = image()
    paper = dict(masks=masks, estimator="paper")   # a sum of scores, whose relative error bf16 bounds
    full = explain(conv, x, "rise", target=1, **paper)
    assert seen[-1] == torch.float32
    half = explain(conv, x, "rise", target=1, **paper, autocast=torch.bfloat16)
    assert seen[-1] == torch.bfloat16 and half.dtype == torch.float32
    torch.testing.assert_close(half, full, rtol=0.02, atol=0.0)


def test_every_method_the_command_line_offers_is_registered():
    from engine.choices import EXPLANATION_METHODS
    from engine.explain import METHODS

    assert tuple(METHODS) == EXPLANATION_METHODS
