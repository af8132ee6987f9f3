import argparse
import json

import cv2
import numpy as np
import pytest

from engine.choices import DEFAULT_METHODS
from engine.detection.hunter import bgr_to_tensor
from engine.errors import SaviourError
from engine.explain.metrics import deletion_auc, insertion_auc
from engine.models.farm import FARM_LABELS
from realtime.commands.explain import EXPLAIN_SEED, _crop_samples
from realtime.reports.explain import Sample, explain_samples
from tests.realtime.cli.test_cli import run


def test_explain_scores_world_crops_and_writes_table_and_figure(tmp_path, capsys):
    code, out, _ = run(capsys, "explain", "--crops", "2", "--n", "32", "--methods", "rise,saliency",
                       "--device", "cpu", "--out", str(tmp_path))
    assert code == 0 and "| rise |" in out
    table = json.loads((tmp_path / "report.json").read_text())["table"]
    assert set(table) == {"rise", "saliency", "random", "random-smooth"}
    assert table["rise"]["images"] == 2 and 0 <= table["rise"]["pointing"] <= 1
    assert {"deletion", "insertion", "ssim_vs_rise"} <= set(table["saliency"])
    assert cv2.imread(str(tmp_path / "figure.png")) is not None
    markdown = (tmp_path / "report.md").read_text()
    assert "| rise |" in markdown and "deletion: " in markdown and "(lower is better)" in markdown


def test_explain_with_bf16_autocast_says_so_in_the_report(tmp_path, capsys):
    code, _, _ = run(capsys, "explain", "--crops", "1", "--n", "16", "--methods", "rise", "--autocast", "bf16",
                     "--device", "cpu", "--out", str(tmp_path))
    assert code == 0 and "N=16 s=8 p1=0.5, centred estimator, sobol masks, bf16 autocast" in (tmp_path / "report.md").read_text()


@pytest.mark.parametrize("native", [False, True])
def test_explain_warns_when_the_cpu_would_emulate_the_autocast_precision(tmp_path, capsys, monkeypatch, native):
    monkeypatch.setattr("realtime.commands.explain.cpu_computes_in", lambda dtype: native)
    code, _, err = run(capsys, "explain", "--crops", "1", "--n", "8", "--methods", "rise", "--autocast", "fp16",
                       "--device", "cpu", "--out", str(tmp_path))
    assert code == 0
    assert ("no fp16 instructions: --autocast fp16 runs slower than float32 here" in err) == (not native)


def test_explain_an_image_file(tmp_path, capsys):
    picture = tmp_path / "farm.png"
    cv2.imwrite(str(picture), np.random.default_rng(0).integers(0, 256, (60, 80, 3), dtype=np.uint8))
    code, _, _ = run(capsys, "explain", "--image", str(picture), "--target", "pig", "--methods", "gradcam,occlusion",
                     "--out", str(tmp_path / "r"), "--device", "cpu")
    assert code == 0 and "pointing" not in json.loads((tmp_path / "r" / "report.json").read_text())["table"]["gradcam"]


def test_explain_a_real_model_on_a_photo_folder_with_the_rise_papers_protocol(tmp_path, capsys):
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea", "coffee"):
        cv2.imwrite(str(photos / f"{name}.png"), getattr(data, name)()[..., ::-1])
    code, out, err = run(capsys, "explain", "--model", "efficientnet_lite0", "--images", str(photos), "--limit", "1",
                         "--n", "16", "--device", "cpu", "--out", str(tmp_path / "r"))
    assert code == 0, err
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert set(report["table"]) == {"rise", "integrated_gradients", "saliency", "gradcam", "evidence", "random",
                                    "random-smooth"}
    assert report["table"]["evidence"]["images"] == 1 and 0 <= report["table"]["evidence"]["insertion"] <= 1
    assert report["context"]["deletion/insertion steps"] == 28      # 224 x 8 pixels a step
    assert report["context"]["source"] == f"{photos}: 1 photos, evenly spread by name"


@pytest.mark.parametrize("args, message", [
    (["--images", "nowhere"], "nowhere: no such image folder"),
    (["--images", ".", "--image", "x.png"], "give image files (--image) or a folder (--images), not both"),
    (["--methods", "evidence", "--crops", "1"], "the evidence method needs a model that ends in average pooling"),
    (["--methods", "lime"], "unknown method lime"),
    (["--n", "0"], "at least one mask"),
    (["--p1", "1.5"], "p1 must be in (0, 1)"),
    (["--s", "200"], "grid size s"),
    (["--image", "missing.png"], "not a readable image"),
    (["--image", "README.md"], "not a readable image"),
    (["--crops", "2", "--target", "cow"], "--target cow: not a class"),
])
def test_explain_bad_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    code, _, err = run(capsys, "explain", *args, "--out", str(tmp_path / "r"), "--device", "cpu")
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "r").exists()


@pytest.mark.parametrize("source", ["image", "crops"])
def test_explain_target_out_of_range(tmp_path, capsys, source):
    picture = tmp_path / "p.png"
    cv2.imwrite(str(picture), np.zeros((96, 96, 3), np.uint8))
    images = ["--image", str(picture)] if source == "image" else ["--crops", "2"]
    code, _, err = run(capsys, "explain", *images, "--target", "7", "--out", str(tmp_path / "r"))
    assert code == 2 and "--target 7: not a class" in err


def test_explain_target_applies_to_world_crops():
    settings = argparse.Namespace(crops=3, seed=EXPLAIN_SEED)
    farm = argparse.Namespace(labels=FARM_LABELS, input_size=96)
    assert [s.target for s in _crop_samples(settings, farm, FARM_LABELS.index("pig"))] == [1, 1, 1]
    true_classes = [s.target for s in _crop_samples(settings, farm, None)]
    assert true_classes != [1, 1, 1] and all(0 <= c < len(FARM_LABELS) for c in true_classes)


def test_world_crops_are_cut_at_the_models_size_and_named_by_its_labels():
    settings = argparse.Namespace(crops=4, seed=EXPLAIN_SEED)
    farm = _crop_samples(settings, argparse.Namespace(labels=FARM_LABELS, input_size=96), None)
    reordered = ("terrain", "panda", "pig", "chicken")
    small = _crop_samples(settings, argparse.Namespace(labels=reordered, input_size=25), None)
    assert [s.image.shape for s in small] == [(25, 25, 3)] * 4
    assert [reordered[s.target] for s in small] == [FARM_LABELS[s.target] for s in farm]
    with pytest.raises(SaviourError, match="not a class of this model"):
        _crop_samples(settings, argparse.Namespace(labels=("cow", "sheep"), input_size=96), None)


def test_explain_the_hunter_on_world_crops_with_every_method(tmp_path, capsys):
    code, out, err = run(capsys, "explain", "--weights", "hunter", "--crops", "2", "--n", "16",
                         "--device", "cpu", "--out", str(tmp_path))
    assert code == 0, err
    table = json.loads((tmp_path / "report.json").read_text())["table"]
    assert set(DEFAULT_METHODS["farm"]) <= set(table)


@pytest.mark.parametrize("method", ["saliency", "rise"])
def test_attack_explanation_reports_the_comparisons_and_their_yardsticks(tmp_path, capsys, method):
    code, out, _ = run(capsys, "attack-explanation", "--method", method, "--crops", "1", "--steps", "3", "--n", "16",
                       "--batch-size", "8", "--device", "cpu", "--out", str(tmp_path))
    assert code == 0 and "original vs adversarial" in out
    report = json.loads((tmp_path / "report.json").read_text())
    row = report["images"][0]
    assert row["linf"] <= 8.0 + 1e-3
    assert {"ssim_original_vs_adversarial", "ssim_original_vs_target", "ssim_adversarial_vs_target"} <= set(row)
    assert 0 < row["target_area"] < 0.5 and 0 <= row["heat_on_target_adversarial"] <= 1
    assert "a blank map (no heat) vs target" in out and "heat on the target" in out
    assert ("ssim_reachable" in row) == (method == "rise")
    assert ("any scores of the masked images" in out) == (method == "rise")


@pytest.mark.parametrize("argv, message", [
    (["attack-explanation", "--eps", "2"], "eps must be in (0, 1], the [0, 1] pixel scale (8/255 for 8 levels)"),
    (["attack-explanation", "--image", "README.md"], "not a readable image"),
    (["train-farm", "--worlds", "0", "--out", "x.pt"], "--worlds must be in [1, 100]"),
])
def test_attack_and_training_bad_input(tmp_path, capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err


def test_curve_steps_set_the_deletion_and_insertion_resolution(random_hunter):
    image = np.random.default_rng(1).integers(0, 256, (25, 25, 3), dtype=np.uint8)
    sample = Sample(image, target=0)
    settings = {"n": 16, "batch_size": 8}
    coarse = explain_samples(random_hunter, [sample], ["saliency"], settings, "cpu", curve_steps=5)
    fine = explain_samples(random_hunter, [sample], ["saliency"], settings, "cpu")
    saliency = coarse.shown[0][1]["saliency"]
    x = bgr_to_tensor([image], "cpu")[0]
    expected = {"deletion": deletion_auc(random_hunter, x, saliency, 0, step=125),   # 625 pixels in 5 steps
                "insertion": insertion_auc(random_hunter, x, saliency, 0, step=125)}
    for metric, value in expected.items():
        assert coarse.scores["saliency"][metric] == [pytest.approx(value)]
        assert fine.scores["saliency"][metric] != coarse.scores["saliency"][metric]



@pytest.fixture
def two_photos(tmp_path):
    from skimage import data

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("chelsea", "coffee"):
        cv2.imwrite(str(photos / f"{name}.png"), getattr(data, name)()[..., ::-1])
    return photos


def test_the_pair_attack_reports_each_method_and_bound(tmp_path, capsys, two_photos):
    code, out, err = run(capsys, "attack-explanation", "--model", "efficientnet_lite0", "--images", str(two_photos),
                         "--pairs", "1", "--steps", "2", "--methods", "gradient", "--device", "cpu",
                         "--out", str(tmp_path / "r"))
    assert code == 0, err
    report = json.loads((tmp_path / "r" / "report.json").read_text())
    assert list(report["summary"]) == ["gradient, unbounded", "gradient, L-inf 8/255"]
    bounded = report["summary"]["gradient, L-inf 8/255"]
    assert bounded["pairs"] == 1 and bounded["linf"]["median"] <= 8 + 1e-3
    assert {"pearson_adversarial_vs_target", "ssim_adversarial_vs_original", "psnr"} <= set(bounded)
    assert [p["photo"] for p in report["pairs"]] == ["chelsea.png"] * 2
    assert cv2.imread(str(tmp_path / "r" / "figure.png")) is not None and "| gradient, unbounded | 1 |" in out


@pytest.mark.parametrize("argv, message", [
    (["--methods", "lrp"], "--methods: unknown method lrp (known with --images: gradient, "),
    (["--weights", "farm"], "--images attacks an ImageNet model's maps"),
])
def test_pair_attack_bad_input(tmp_path, capsys, two_photos, argv, message):
    argv = ["--model", "efficientnet_lite0", *argv] if "--weights" not in argv else argv
    code, _, err = run(capsys, "attack-explanation", "--images", str(two_photos), *argv, "--out", str(tmp_path / "r"))
    assert code == 2 and message in err and not (tmp_path / "r").exists()
