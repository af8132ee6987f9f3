import json

import av
import cv2
import pytest

from realtime.cli import main
from farm.world import FarmWorld
from tests.media import clip_with_sound, streams, world_clip


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return world_clip(tmp_path_factory.mktemp("clips") / "farm.mp4", 10)


def test_batch_writes_video_log_and_summaries_and_goes_on_after_bad_inputs(tmp_path, clip, capsys):
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video")
    out = tmp_path / "out"
    code = main(["batch", str(clip), str(fake), str(tmp_path / "missing.mp4"), "--out", str(out),
                 "--batch-size", "4", "--device", "cpu"])
    assert code == 1
    lines = (out / "farm" / "frames.jsonl").read_text().splitlines()
    assert len(lines) == 10
    record = json.loads(lines[0])
    assert {"frame", "before", "after", "aim_before", "aim_after", "timings_ms"} <= set(record)
    assert any(d["label"] == "chicken" for line in lines for d in json.loads(line)["before"])
    with av.open(str(out / "farm" / "annotated.mp4")) as video:
        assert video.streams.video[0].codec_context.name == "h264" and video.streams.video[0].frames == 10
    assert json.loads((out / "farm" / "summary.json").read_text())["frames"] == 10
    batch = json.loads((out / "batch_summary.json").read_text())
    assert batch["done"] == [str(clip)]
    reasons = {f["input"]: f["reason"] for f in batch["failed"]}
    assert "cannot read it as a video" in reasons[str(fake)] and "no such video file" in reasons[str(tmp_path / "missing.mp4")]
    assert not list(out.rglob("*.part")) and not (out / "notes").exists()
    assert "failed 2" in capsys.readouterr().out


@pytest.mark.parametrize("view, name, width", [("after", "annotated.mp4", 320), ("defended", "defended.mp4", 320),
                                               ("side-by-side", "annotated.mp4", 640)])
def test_batch_writes_the_chosen_view(tmp_path, clip, view, name, width):
    out = tmp_path / "out"
    assert main(["batch", str(clip), "--out", str(out), "--view", view, "--device", "cpu"]) == 0
    with av.open(str(out / "farm" / name)) as video:
        stream = video.streams.video[0]
        assert (stream.codec_context.width, stream.frames) == (width, 10)
        first = next(video.decode(stream)).to_ndarray(format="bgr24")
    titled = (first[5:25, 5:60].min(axis=2) > 230).any()    # the white title; the sky is (255, 200, 175)
    assert titled == (view != "defended") and json.loads((out / "farm" / "summary.json").read_text())["view"] == view


@pytest.mark.parametrize("codec, name, rate", [("aac", "talk.mp4", 44100), ("pcm_s16le", "camera.mov", 44100),
                                               ("pcm_s16le", "studio.mov", 192000)])   # a rate AAC lacks
def test_the_inputs_sound_is_carried_over_in_step(tmp_path, codec, name, rate):
    clip = clip_with_sound(tmp_path / name, 12, codec, rate=rate)
    out = tmp_path / "out"
    assert main(["batch", str(clip), "--out", str(out), "--view", "defended", "--device", "cpu"]) == 0
    found = streams(out / clip.stem / "defended.mp4")
    assert found["video"][0] == "h264" and found["video"][2] == 12
    assert found["audio"][0] == "aac" and found["audio"][1] == pytest.approx(12 / 30, abs=0.03)


def test_a_folder_of_images_is_one_input_even_with_mixed_sizes(tmp_path):
    shots = tmp_path / "shots"
    shots.mkdir()
    world = FarmWorld(seed=4242, size=(320, 180))
    for i in range(6):
        frame = world.render(i)[0]
        cv2.imwrite(str(shots / f"shot{i}.png"), frame if i not in (2, 3) else cv2.resize(frame, (200, 150)))
    out = tmp_path / "out"
    assert main(["batch", str(shots), "--out", str(out), "--batch-size", "4", "--device", "cpu"]) == 0
    assert len((out / "shots" / "frames.jsonl").read_text().splitlines()) == 6
    assert streams(out / "shots" / "annotated.mp4") == {"video": ("h264", 0.2, 6)}   # 30 FPS, no sound
    with av.open(str(out / "shots" / "annotated.mp4")) as video:
        third = list(video.decode(video.streams.video[0]))[2].to_ndarray(format="bgr24")
    assert third.shape == (180, 640, 3) and third[:, :30].max() < 20   # the 4:3 frames letterboxed, not stretched


def test_a_folder_or_glob_without_videos_is_a_failed_input(tmp_path, capsys):
    empty = tmp_path / "no-videos"
    empty.mkdir()
    (empty / "notes.txt").write_text("not a video")
    nothing = str(tmp_path / "shots" / "*.mp4")
    code = main(["batch", str(empty), nothing, "--out", str(tmp_path / "out"), "--device", "cpu"])
    failed = json.loads((tmp_path / "out" / "batch_summary.json").read_text())["failed"]
    reasons = {f["input"]: f["reason"] for f in failed}
    assert code == 1 and "no video files" in reasons[str(empty)] and "no such video file" in reasons[nothing]
    assert "failed 2" in capsys.readouterr().out


def test_batch_skips_finished_inputs_unless_forced(tmp_path, clip, capsys):
    out = tmp_path / "out"
    assert main(["batch", str(clip.parent), "--out", str(out), "--device", "cpu"]) == 0
    assert main(["batch", str(clip.parent / "*.mp4"), "--out", str(out), "--device", "cpu"]) == 0
    assert json.loads((out / "batch_summary.json").read_text())["skipped"] == [str(clip)]
    assert main(["batch", str(clip), "--out", str(out), "--force", "--device", "cpu"]) == 0
    assert json.loads((out / "batch_summary.json").read_text())["done"] == [str(clip)]


def test_a_recursive_glob_does_not_take_the_batchs_own_outputs_as_inputs(tmp_path, clip):
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "farm.mp4").write_bytes(clip.read_bytes())
    out = clips / "out"
    argv = ["batch", str(clips / "**" / "*.mp4"), "--out", str(out), "--device", "cpu"]
    assert main(argv) == 0 and (out / "farm" / "annotated.mp4").exists()
    assert main(argv) == 0
    summary = json.loads((out / "batch_summary.json").read_text())
    assert (summary["done"], summary["skipped"]) == ([], [str(clips / "farm.mp4")])
    assert not (out / "annotated").exists()


def test_an_interrupted_batch_leaves_no_partial_file_nor_empty_folder(tmp_path, clip, monkeypatch):
    from realtime.commands import batch_segments as batch

    calls = {"n": 0}
    original = batch.output_view

    def interrupt_on_the_fifth_frame(*args):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt
        return original(*args)

    monkeypatch.setattr(batch, "output_view", interrupt_on_the_fifth_frame)
    out = tmp_path / "out"
    assert main(["batch", str(clip), "--out", str(out), "--batch-size", "2", "--device", "cpu"]) == 130
    assert not (out / "farm").exists() and not list(out.rglob("*.part"))
    summary = json.loads((out / "batch_summary.json").read_text())
    assert (summary["done"], summary["pending"]) == ([], [str(clip)])


def test_gif_of_the_defended_view_fits_the_size_limit(tmp_path, capsys):
    from PIL import Image

    out = tmp_path / "world.gif"
    assert main(["gif", "world", "--duration", "2", "--fps", "10", "--width", "320", "--out", str(out),
                 "--device", "cpu"]) == 0
    full = Image.open(out)
    assert full.width == 320 and full.n_frames == 20 and full.info.get("loop") == 0
    size_mb = out.stat().st_size / 1e6
    small = tmp_path / "small.gif"
    assert main(["gif", "world", "--duration", "2", "--fps", "10", "--width", "320", "--out", str(small),
                 "--max-size", f"{size_mb / 3:.4f}", "--device", "cpu"]) == 0
    assert small.stat().st_size / 1e6 <= size_mb / 3
    assert "fps" in capsys.readouterr().out and not list(tmp_path.glob(".*"))


@pytest.mark.parametrize("args, message", [
    (["world", "--duration", "0"], "--duration must be positive"),
    (["nothing.mp4"], "no such video file"),
    (["world", "--start", "20", "--duration", "1", "--max-size", "0.00001"], "cannot get under"),
])
def test_gif_bad_input(tmp_path, capsys, args, message):
    code = main(["gif", *args, "--out", str(tmp_path / "x.gif"), "--fps", "2", "--device", "cpu"])
    assert code == 2 and message in capsys.readouterr().err and not (tmp_path / "x.gif").exists()


def test_batch_logs_the_same_frames_in_order_with_one_worker_or_two(tmp_path, clip):
    logs = {}
    for workers in ("1", "2"):
        out = tmp_path / workers
        assert main(["batch", str(clip), "--out", str(out), "--batch-size", "3", "--workers", workers,
                     "--heatmap", "rise", "--device", "cpu"]) == 0
        logs[workers] = [json.loads(line) for line in (out / "farm" / "frames.jsonl").read_text().splitlines()]
    assert [r["frame"] for r in logs["2"]] == list(range(10))
    for one, two in zip(logs["1"], logs["2"]):
        assert (one["before"], one["after"], one["heatmap"]) == (two["before"], two["after"], two["heatmap"])
