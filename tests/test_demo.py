import json

import av
from PIL import Image

from realtime.cli import main


def test_demo_writes_video_gif_and_summary(tmp_path, capsys):
    assert main(["demo", "--frames", "8", "--out", str(tmp_path), "--device", "cpu"]) == 0
    summary = json.loads((tmp_path / "demo_summary.json").read_text())
    shares = summary["targets_real_chicken"]
    assert set(shares) == {"before", "after_camouflage", "after_control", "after_occlusion", "with_decoys", "after_fgsm"}
    assert summary["frames_with_chicken"] == 8 and shares["before"] > shares["after_camouflage"]
    with av.open(str(tmp_path / "demo.mp4")) as video:
        stream = video.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.width == 1280
    gif = Image.open(tmp_path / "demo.gif")
    assert gif.width == 480 and gif.info.get("loop") == 0 and gif.n_frames == 4
    assert "hunter targets a real chicken" in capsys.readouterr().out


def test_demo_with_heatmap_reports_heat_on_chickens_and_decoys(tmp_path):
    assert main(["demo", "--frames", "4", "--heatmap", "rise", "--out", str(tmp_path), "--device", "cpu"]) == 0
    heat = json.loads((tmp_path / "demo_summary.json").read_text())["mean_heat"]
    assert set(heat) == {"chickens/none", "chickens/camouflage", "chickens/decoys", "decoys/decoys"}
    assert all(0 <= v <= 1 for v in heat.values())


def test_demo_rejects_a_folder_that_is_not_a_library(tmp_path, capsys):
    (tmp_path / "lib").mkdir()
    assert main(["demo", "--frames", "2", "--library", str(tmp_path / "lib"), "--out", str(tmp_path / "o")]) == 2
    assert "not a block library" in capsys.readouterr().err and not (tmp_path / "o" / "demo.mp4").exists()
