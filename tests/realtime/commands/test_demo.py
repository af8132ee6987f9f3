import json

import av
import numpy as np
from PIL import Image

from engine.detection.detections import Detections
from realtime.cli import main
from realtime.pipeline.defended import FrameResult
from realtime.pipeline.overlay import side_by_side


def test_demo_writes_video_gif_and_summary(tmp_path, capsys):
    assert main(["demo", "--frames", "8", "--out", str(tmp_path), "--device", "cpu"]) == 0
    summary = json.loads((tmp_path / "demo_summary.json").read_text())
    shares, box_only = summary["targets_real_chicken"], summary["targets_real_chickens_box_only"]
    assert set(shares) == set(box_only) == {"before", "after_camouflage", "after_control", "after_occlusion",
                                            "with_decoys", "after_fgsm", "after_pgd", "after_noise"}
    assert all(shares[k] >= box_only[k] for k in shares)   # the footprint only adds frames
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


def test_demo_with_a_library_lacking_blocks_creates_no_output_folder(tmp_path, capsys, library_without_camouflage):
    out = tmp_path / "new_folder"
    assert main(["demo", "--frames", "2", "--library", str(library_without_camouflage), "--out", str(out)]) == 2
    assert "no camouflage block for terrain" in capsys.readouterr().err and not out.exists()


def _result_with_heat() -> FrameResult:
    rng = np.random.default_rng(0)
    frame = rng.integers(0, 255, (60, 80, 3), np.uint8)
    nothing = Detections.empty(("chicken", "pig", "panda", "terrain"))
    return FrameResult(frame, nothing, frame.copy(), nothing, heatmap=rng.random((20, 27)).astype(np.float32))


def test_the_defended_frames_heatmap_is_drawn_on_the_after_panel_only():
    result = _result_with_heat()
    panel = side_by_side(result, "camouflage")
    plain = side_by_side(FrameResult(result.frame, result.before, result.defended, result.after), "camouflage")
    width = result.frame.shape[1]
    assert (panel[:, :width] == plain[:, :width]).all()
    assert (panel[30:, width:] != plain[30:, width:]).any()


def test_the_fps_label_is_drawn_only_when_a_rate_is_given():
    result = _result_with_heat()
    result.frame = result.defended = np.zeros((360, 640, 3), np.uint8)
    result.heatmap = None
    with_rate, without = side_by_side(result, "m", fps=30.0), side_by_side(result, "m")
    corner = (slice(0, 25), slice(result.frame.shape[1] * 2 - 90, None))
    assert with_rate[corner].any() and not without[corner].any()


def test_a_target_on_the_block_beside_a_chicken_counts_as_on_the_chicken():
    from realtime.commands.demo import on_chicken

    chicken = np.array([100.0, 100.0, 120.0, 130.0])
    block = np.array([[92.0, 97.0, 128.0, 133.0]])             # 1.2 x the box's larger side, on its centre
    elsewhere = np.array([[300.0, 100.0, 336.0, 136.0]])       # a block on a false detection
    assert on_chicken((110, 115), [chicken], np.zeros((0, 4)))  # in the box
    assert not on_chicken((94, 99), [chicken], np.zeros((0, 4)))
    assert on_chicken((94, 99), [chicken], block)                # on the block's edge, outside the box
    assert on_chicken((90.5, 99), [chicken], block)              # just beyond it: the square grown by a tenth
    assert not on_chicken((85, 99), [chicken], block)
    assert not on_chicken((318, 118), [chicken], elsewhere) and not on_chicken(None, [chicken], block)


def test_a_covers_footprint_is_the_square_it_pastes():
    from realtime.pipeline.defences import Cover

    cover = Cover(np.full((5, 5, 3), 255, np.uint8), fraction=1.2)
    frame = np.zeros((200, 200, 3), np.uint8)
    boxes = np.array([[50.0, 60.0, 70.0, 110.0]])
    cover.apply(frame, boxes)
    ys, xs = np.nonzero(frame[..., 0])
    x0, y0, x1, y1 = cover.footprints(boxes)[0]
    assert (xs.min(), ys.min(), xs.max() + 1, ys.max() + 1) == (round(x0), round(y0), round(x1), round(y1))
