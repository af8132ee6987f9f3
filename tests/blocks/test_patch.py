"""The universal adversarial patch: its placement, its loss, its library entries and its command."""

import cv2
import numpy as np
import pytest
import torch
import yaml
from skimage import data

from blocks.choices import DEFAULT_LIBRARY, HUNTER
from blocks.library import MANIFEST, BlockLibrary
from blocks.patch import PatchPlacement, paste_patch, patch_loss, random_placements
from engine.models import HUNTER_LABELS
from tests.realtime.cli.test_cli import run

IMAGENET = tuple(f"class {i}" for i in range(8)) + ("toaster",)


def test_a_patch_covers_its_share_of_the_image_wherever_it_lands():
    generator = torch.Generator().manual_seed(0)
    images = torch.zeros(64, 3, 224, 224)
    placed = random_placements(64, PatchPlacement(), generator, area=0.1)
    pasted = paste_patch(images, torch.ones(3, 40, 40), *placed[:3], torch.ones(64))
    covered = pasted[:, 0].mean((1, 2))
    assert torch.allclose(covered, torch.full((64,), 0.1), atol=0.006)     # whole, inside the image


def test_the_loss_reaches_every_patch_pixel_and_pulls_toward_the_target():
    generator = torch.Generator().manual_seed(1)
    patch = torch.full((3, 16, 16), 0.5, requires_grad=True)
    pasted = paste_patch(torch.rand(8, 3, 64, 64, generator=generator), patch,
                         *random_placements(8, PatchPlacement(area=(0.2, 0.25), rotation_degrees=0), generator))
    logits = torch.stack([pasted.mean((1, 2, 3)) * 10, -pasted.mean((1, 2, 3)) * 10], 1)  # bright: class 0
    patch_loss(logits, 0, [1]).backward()
    assert torch.all(patch.grad < 0)                           # brighter patch, more class 0
    untargeted = patch_loss(logits.detach(), None, [1])
    assert torch.allclose(untargeted, -(1 - logits.softmax(1)[:, 1]).log().mean())


def write_patch_library(folder, model="efficientnet_lite0", hunter_blocks=True):
    """The shipped library's hunter blocks (when asked) and one patch entry made for `model`."""
    folder.mkdir()
    entries = []
    if hunter_blocks:
        entries = [e for e in yaml.safe_load((DEFAULT_LIBRARY / MANIFEST).read_text())["blocks"] if e["purpose"] != "patch"]
        for entry in entries:
            (folder / entry["file"]).write_bytes((DEFAULT_LIBRARY / entry["file"]).read_bytes())
    cv2.imwrite(str(folder / "patch-toaster.png"), np.full((32, 32, 3), 128, np.uint8))
    entries.append({"file": "patch-toaster.png", "purpose": "patch", "target": "toaster", "method": "eot",
                    "params": {"steps": 1}, "hunter_sha256": "0" * 64, "clean_probability": 0.0,
                    "success_rate": 0.5, "model": model, "success_by_area": {0.1: 0.5}})
    (folder / MANIFEST).write_text(yaml.safe_dump({"blocks": entries}))


def test_the_hunter_loads_its_blocks_and_a_model_its_patches_and_saving_keeps_both(tmp_path, capsys):
    write_patch_library(tmp_path / "lib")
    hunters = BlockLibrary.load(tmp_path / "lib", HUNTER_LABELS, 25)
    patches = BlockLibrary.load(tmp_path / "lib", IMAGENET, 224, model="efficientnet_lite0")
    assert HUNTER not in {b.model for b in patches.blocks} and [b.file for b in patches.blocks] == ["patch-toaster.png"]
    assert "patch" not in {b.purpose for b in hunters.blocks} and len(hunters) == 5
    assert patches.blocks[0].pixels.shape == (3, 32, 32) and patches.blocks[0].success_by_area == {0.1: 0.5}
    patches.save(tmp_path / "lib")
    again = yaml.safe_load((tmp_path / "lib" / MANIFEST).read_text())["blocks"]
    assert [e["file"] for e in again][-1] == "patch-toaster.png" and len(again) == 6
    assert capsys.readouterr().err == ""


def test_a_patch_made_for_another_model_loads_with_a_warning(tmp_path, capsys):
    write_patch_library(tmp_path / "lib", model="timm:resnet50", hunter_blocks=False)
    library = BlockLibrary.load(tmp_path / "lib", IMAGENET, 224, model="efficientnet_lite0")
    assert len(library) == 1
    assert "holds patches made for timm:resnet50, not efficientnet_lite0" in capsys.readouterr().err


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Six photos scikit-image ships, as files."""
    folder = tmp_path_factory.mktemp("photos")
    for name in ("chelsea", "coffee", "astronaut", "rocket", "cat", "camera"):
        image = getattr(data, name)()
        image = np.repeat(image[..., None], 3, 2) if image.ndim == 2 else image
        cv2.imwrite(str(folder / f"{name}.png"), np.ascontiguousarray(image[..., ::-1]))
    return folder


def test_the_command_trains_a_patch_and_reports_it_against_area_with_its_controls(tmp_path, capsys, photos):
    out = tmp_path / "lib"
    code, printed, err = run(capsys, "blocks", "generate", "--model", "efficientnet_lite0", "--purpose", "patch",
                             "--images", str(photos), "--out", str(out), "--steps", "2", "--device", "cpu")
    assert code == 0, err
    lines = printed.splitlines()
    assert lines[0] == "patch-toaster-efficientnet_lite0.png: efficientnet_lite0, top-1 toaster; on 2 held-out images:"
    assert lines[1].split() == ["area", "patch", "random", "pixels", "grey", "square"]
    assert [row.split()[0] for row in lines[2:8]] == ["2%", "5%", "10%", "15%", "20%", "25%"]
    library = BlockLibrary.load(out, load_labels(), 224, model="efficientnet_lite0")
    [patch] = library.blocks
    assert patch.params["train_images"] == 4 and patch.params["held_out_images"] == 2
    assert patch.pixels.shape == (3, 112, 112) and set(patch.success_by_area) == {0.02, 0.05, 0.1, 0.15, 0.2, 0.25}
    assert (out / "patch-toaster-efficientnet_lite0-success.png").is_file()


def load_labels():
    from engine.models.timm_models import imagenet_labels

    return imagenet_labels()


@pytest.mark.parametrize("argv, message", [
    (["--purpose", "patch"], "--purpose patch needs an ImageNet --model, such as efficientnet_lite0"),
    (["--model", "efficientnet_lite0"], "--model efficientnet_lite0 makes patches: add --purpose patch"),
    (["--model", "efficientnet_lite0", "--purpose", "patch"], "--purpose patch needs --images DIR"),
    (["--model", "efficientnet_lite0", "--purpose", "patch", "--images", "PHOTOS", "--target", "tostador"],
     "--target tostador: not a class of this model"),
    (["--model", "efficientnet_lite0", "--purpose", "patch", "--images", "EMPTY"], "EMPTY: no images"),
    (["--model", "no_such_model", "--purpose", "patch", "--images", "PHOTOS"],
     "no_such_model: no such weights file, nor a known model"),
])
def test_bad_patch_requests_stop_with_one_line_and_write_nothing(tmp_path, capsys, photos, argv, message):
    (tmp_path / "EMPTY").mkdir()
    argv = [str(photos) if a == "PHOTOS" else str(tmp_path / a) if a == "EMPTY" else a for a in argv]
    code, _, err = run(capsys, "blocks", "generate", *argv, "--out", str(tmp_path / "lib"), "--device", "cpu")
    assert code == 2 and message.replace("EMPTY", str(tmp_path / "EMPTY")) in err and len(err.splitlines()) == 1
    assert not (tmp_path / "lib").exists()


def test_a_patch_area_outside_zero_one_is_refused_by_the_parser(tmp_path, capsys):
    with pytest.raises(SystemExit) as stop:
        run(capsys, "blocks", "generate", "--model", "efficientnet_lite0", "--purpose", "patch", "--images", "x",
            "--area", "0.1,1.5", "--out", str(tmp_path / "lib"))
    assert stop.value.code == 2 and "expected LOW,HIGH shares of the image area in (0, 1)" in capsys.readouterr().err
    assert not (tmp_path / "lib").exists()
