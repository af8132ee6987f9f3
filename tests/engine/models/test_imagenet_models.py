"""The real-world models: EfficientNet-Lite0 from its installed weights package, timm:NAME, and the
class-evidence map every pooled-linear ImageNet network offers."""

import numpy as np
import pytest
import torch
from skimage import data

from engine.errors import SaviourError
from engine.models import load_classifier
from engine.models.timm_models import _renamed


@pytest.fixture(scope="module")
def lite0():
    return load_classifier("efficientnet_lite0", device="cpu")


def centre_crop(image: np.ndarray, model) -> torch.Tensor:
    """An RGB uint8 image as the weights were checked: short side resized, centre crop, [0, 1]."""
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    x = torch.nn.functional.interpolate(x, scale_factor=model.resize_size / min(image.shape[:2]), mode="area")
    top, left = [(n - model.input_size) // 2 for n in x.shape[2:]]
    return x[..., top:top + model.input_size, left:left + model.input_size]


def test_efficientnet_lite0_installs_with_its_imagenet_weights_and_names_a_cat_a_cat(lite0):
    assert lite0.labels[7:9] == ("cock", "hen") and lite0.labels[388] == "giant panda" and len(lite0.labels) == 1000
    with torch.no_grad():
        top3 = lite0(centre_crop(data.chelsea(), lite0)).softmax(1)[0].topk(3)
    assert {lite0.labels[i] for i in top3.indices} & {"tabby", "tiger cat", "Egyptian cat"}
    assert float(top3.values.sum()) > 0.5


def test_the_evidence_map_averages_to_the_images_logits(lite0):
    x = centre_crop(data.coffee(), lite0)
    with torch.no_grad():
        evidence = lite0.evidence(x)
        assert evidence.shape == (1, 1000, 7, 7)
        torch.testing.assert_close(evidence.mean((2, 3)), lite0(x), atol=1e-4, rtol=1e-4)


def test_the_packages_tensors_map_one_to_one_or_name_the_first_that_does_not():
    expected = {"conv_stem.weight": torch.zeros(4, 3), "bn1.weight": torch.zeros(4)}
    package = {"_conv_stem.weight": torch.ones(4, 3), "_bn0.weight": torch.ones(4)}
    assert list(_renamed(package, expected)) == list(expected)
    with pytest.raises(SaviourError, match=r"_bn0.weight is \(5,\) in the package, bn1.weight \(4,\) in the model"):
        _renamed({"_conv_stem.weight": torch.ones(4, 3), "_bn0.weight": torch.ones(5)}, expected)


def test_timm_models_load_by_name_with_random_weights():
    model = load_classifier("timm:resnet18", device="cpu", pretrained=False)
    assert model.input_size == 224 and model.labels[8] == "hen" and model.has_evidence
    with pytest.raises(SaviourError, match="timm:no_such_net: not one of timm's models"):
        load_classifier("timm:no_such_net", device="cpu", pretrained=False)


def test_torchvision_resnets_offer_the_evidence_map_too():
    model = load_classifier("torchvision:resnet18", device="cpu", pretrained=False)
    x = torch.rand(1, 3, 96, 128)
    with torch.no_grad():
        torch.testing.assert_close(model.evidence(x).mean((2, 3)), model(x), atol=1e-4, rtol=1e-4)
    assert "net.fc.weight" in model.state_dict() and not any(k.startswith("_") for k in model.state_dict())


def test_an_unknown_model_name_lists_the_known_ones():
    with pytest.raises(SaviourError, match="no_such_model: no such weights file, nor a known model "
                                           r"\(known: hunter, farm, efficientnet_lite0, torchvision:NAME, timm:NAME\)"):
        load_classifier("no_such_model", device="cpu")
