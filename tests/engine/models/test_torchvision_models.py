"""torchvision ImageNet classifiers through `--weights torchvision:NAME`: the download path is tested
with random weights placed in a temporary hub cache, since nothing can be downloaded here."""

import argparse
import json
from urllib.error import URLError

import cv2
import numpy as np
import pytest
import torch

from engine.errors import SaviourError
from engine.models import load_classifier
from realtime.commands.explain import _fitted
from tests.realtime.cli.test_cli import run

CACHED_NAME = "resnet18-f37072fd.pth"   # the file name of resnet18's ImageNet weights in the hub cache


@pytest.fixture
def hub(tmp_path, monkeypatch):
    """An empty hub cache of our own (torch.hub reads TORCH_HOME), and its checkpoints folder."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    folder = tmp_path / "torch" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    return folder


def test_takes_zero_one_rgb_and_masks_with_the_mean_colour():
    model = load_classifier("torchvision:resnet18", device="cpu", pretrained=False)
    assert len(model.labels) == 1000 and model.labels[0] == "tench" and model.input_size == 224
    mean_colour = torch.zeros(1, 3, 224, 224) + model.neutral_input
    with torch.no_grad():   # the mean colour is what the network sees as zero, as in the RISE paper
        assert torch.allclose(model(mean_colour), model.net(torch.zeros(1, 3, 224, 224)), atol=1e-5)


def test_random_weights_are_the_same_on_every_run_and_leave_the_global_generator_alone():
    torch.manual_seed(5)
    expected_draw = torch.rand(1)
    torch.manual_seed(5)
    first = load_classifier("torchvision:resnet18", device="cpu", pretrained=False).net.state_dict()
    assert torch.equal(torch.rand(1), expected_draw)
    second = load_classifier("torchvision:resnet18", device="cpu", pretrained=False).net.state_dict()
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_imagenet_weights_load_from_the_hub_cache(hub):
    random = load_classifier("torchvision:resnet18", device="cpu", pretrained=False).net.state_dict()
    stand_in = {k: v + 1 if v.is_floating_point() else v for k, v in random.items()}   # unlike the random ones
    torch.save(stand_in, hub / CACHED_NAME)
    loaded = load_classifier("torchvision:resnet18", device="cpu").net.state_dict()
    assert all(torch.equal(loaded[k], stand_in[k]) for k in stand_in)


def test_a_cached_file_with_pickled_objects_is_refused(hub):
    torch.save({"conv1.weight": argparse.Namespace()}, hub / CACHED_NAME)
    with pytest.raises(SaviourError, match="torchvision:resnet18: could not load its ImageNet weights"):
        load_classifier("torchvision:resnet18", device="cpu")


def test_no_network_ends_with_one_line_naming_the_way_out(hub, monkeypatch, tmp_path, capsys):
    def offline(url, destination, *args, **kwargs):
        raise URLError("Name or service not known")
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    picture = tmp_path / "dog.png"
    cv2.imwrite(str(picture), np.zeros((64, 64, 3), np.uint8))
    code, _, err = run(capsys, "explain", "--weights", "torchvision:resnet18", "--image", str(picture),
                       "--out", str(tmp_path / "r"), "--device", "cpu")
    assert code == 2 and "Name or service not known" in err and "--random-weights" in err
    assert not (tmp_path / "r").exists() and not any(hub.iterdir())


@pytest.mark.parametrize("argv, message", [
    (["explain", "--weights", "torchvision:resnet500", "--random-weights"], "torchvision:resnet500: not one of torchvision's"),
    (["explain", "--weights", "farm", "--random-weights"], "--random-weights is for torchvision:NAME models"),
    (["explain", "--weights", "torchvision:resnet18", "--random-weights", "--crops", "1"], "give --target or --image"),
    (["explain", "--weights", "torchvision:resnet18", "--random-weights", "--target", "cow"], "1000 classes"),
    (["detect", "--weights", "torchvision:resnet18", "--out", "x.mp4"], "is not a hunter-style classifier"),
])
def test_bad_torchvision_input_is_one_line_and_exit_2(tmp_path, capsys, argv, message):
    code, _, err = run(capsys, *argv, "--device", "cpu") if argv[0] == "explain" else run(capsys, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1


def test_explain_and_attack_a_torchvision_model_on_an_image(tmp_path, capsys):
    picture = tmp_path / "dog.png"
    image = np.full((150, 200, 3), (60, 160, 80), np.uint8)
    cv2.circle(image, (100, 75), 35, (40, 40, 220), -1)
    cv2.imwrite(str(picture), image)
    common = ["--weights", "torchvision:mobilenet_v3_small", "--random-weights", "--image", str(picture),
              "--device", "cpu"]
    code, out, err = run(capsys, "explain", *common, "--methods", "rise,integrated_gradients", "--n", "16",
                         "--out", str(tmp_path / "e"))
    assert code == 0, err
    table = json.loads((tmp_path / "e" / "report.json").read_text())["table"]
    assert {"rise", "integrated_gradients"} <= set(table) and 0 <= table["rise"]["insertion"] <= 1
    code, out, err = run(capsys, "attack-explanation", *common, "--steps", "2", "--target-map", "centre",
                         "--out", str(tmp_path / "a"))
    assert code == 0 and "original vs adversarial" in out, err


def test_images_are_fitted_as_torchvision_presets_do():
    image = np.full((300, 400, 3), 128, np.uint8)
    image[:, :40] = 255   # a band at the far left, outside the centre crop
    fitted = _fitted(image, 224, 256)
    assert fitted.shape == (224, 224, 3) and fitted.max() == 128
    assert _fitted(image, 96, None).shape == (96, 96, 3) and _fitted(image, 96, None).max() == 255
