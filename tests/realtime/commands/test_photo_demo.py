"""`saviour demo --model M --images DIR`: still photos panned and zoomed, through the real-world modes."""

import json

import cv2
import numpy as np
import pytest

from blocks.library import BlockLibrary
from engine.detection.evidence import EvidenceDetector
from realtime.commands import photo_demo
from tests.blocks.test_patch import write_patch_library
from tests.engine.detection.test_evidence import LABELS, colour_classifier
from tests.realtime.cli.test_cli import run


def test_the_pan_and_zoom_closes_in_on_the_photo_as_a_16_9_camera_would():
    photo = np.zeros((300, 400, 3), np.uint8)
    photo[:, 200:] = 255                           # right half white
    frames = list(photo_demo.pan_zoom(photo, 10, (160, 90)))
    assert len(frames) == 10 and frames[0].shape == (90, 160, 3)
    white = [float(f.mean()) / 255 for f in frames]
    assert white[0] == pytest.approx(0.5, abs=0.03) and white[-1] > white[0] + 0.03   # closes in, drifting right


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """The colour classifier's detector (white is a hen) and a library with a mid-grey patch, in place
    of --model's; photos: two with a white hen, one without."""
    write_patch_library(tmp_path / "lib", hunter_blocks=False)
    library = BlockLibrary.load(tmp_path / "lib", LABELS + ("toaster",), 224, model="efficientnet_lite0")
    monkeypatch.setattr(photo_demo, "detector_and_library",
                        lambda args, device: (EvidenceDetector(colour_classifier()), library))
    photos = tmp_path / "photos"
    photos.mkdir()
    for name, hen in (("a.png", True), ("b.png", False), ("c.png", True)):
        image = np.full((360, 640, 3), 60, np.uint8)
        if hen:
            image[10:350, 10:630] = 255          # the whole frame: its likeliest class is the hen
        cv2.imwrite(str(photos / name), image)
    return photos


def test_the_demo_films_the_photos_with_chickens_and_counts_each_defence(tmp_path, capsys, fake_model):
    code, out, err = run(capsys, "demo", "--model", "efficientnet_lite0", "--images", str(fake_model), "--out",
                         str(tmp_path / "out"), "--frames-per-photo", "4", "--fraction", "0.5", "--device", "cpu")
    assert code == 0, err
    summary = json.loads((tmp_path / "out" / "demo_summary.json").read_text())
    assert summary["photos"] == ["a.png", "c.png"] and summary["frames"] == 8
    shares = summary["finds_a_chicken"]
    assert list(shares) == ["before", "patch", "random-patch", "occlusion"] and shares["before"] == 1.0
    assert (tmp_path / "out" / "demo.mp4").is_file() and (tmp_path / "out" / "demo.gif").is_file()
    assert "the model finds a chicken in: before 100.0%" in out


def test_the_photo_demo_covers_a_smaller_share_of_the_box_than_the_farm_demo_by_default(tmp_path, capsys, fake_model):
    code, _, err = run(capsys, "demo", "--model", "efficientnet_lite0", "--images", str(fake_model), "--out",
                       str(tmp_path / "out"), "--frames-per-photo", "2", "--photos", "1", "--device", "cpu")
    assert code == 0, err
    assert json.loads((tmp_path / "out" / "demo_summary.json").read_text())["patch_fraction"] == 0.8


def test_photos_without_chickens_stop_the_demo_with_one_line(tmp_path, capsys, fake_model):
    for name in ("a.png", "c.png"):
        (fake_model / name).unlink()
    code, _, err = run(capsys, "demo", "--model", "efficientnet_lite0", "--images", str(fake_model), "--out",
                       str(tmp_path / "out"), "--device", "cpu")
    assert code == 2 and f"{fake_model}: efficientnet_lite0 finds a chicken in none of its 1 photos" in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("argv, message", [
    (["demo", "--model", "efficientnet_lite0"], "--model efficientnet_lite0: the real-world demo films photos; "
                                                 "give --images DIR"),
    (["gif", "clip.mp4", "--model", "efficientnet_lite0", "--mode", "camouflage", "--out", "x.gif"],
     "--mode camouflage needs the hunter; with --model efficientnet_lite0 use none, patch, random-patch, occlusion"),
    (["gif", "clip.mp4", "--mode", "patch", "--out", "x.gif"],
     "--mode patch is for an ImageNet --model, such as efficientnet_lite0"),
])
def test_a_mode_the_model_cannot_run_is_refused_before_anything_is_written(tmp_path, capsys, argv, message):
    code, _, err = run(capsys, *[str(tmp_path / a) if a.endswith((".mp4", ".gif")) else a for a in argv])
    assert code == 2 and message in err
    assert not list(tmp_path.iterdir())
