"""Batch: which folder stands for which input, one batch per output folder, and every input's fate
in the batch summary, whatever ends it."""

import json
import os
import shutil
import signal
import subprocess

import av
import numpy as np
import pytest

from engine.files import LOCK
from realtime.cli import main
from tests.faults.conftest import errors, finish, is_root, leftovers, saviour, wait_for
from tests.media import world_clip


def batch(*args) -> int:
    return main(["batch", *map(str, args), "--device", "cpu"])


def summary(out) -> dict:
    return json.loads((out / "batch_summary.json").read_text())


def recorded_input(folder) -> str:
    return json.loads((folder / "summary.json").read_text())["input"]


def test_another_input_of_the_same_name_gets_its_own_folder(tmp_path, clip):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first, second = tmp_path / "a" / "clip.mp4", tmp_path / "b" / "clip.mp4"
    shutil.copy(clip, first)
    world_clip(second, 6)
    out = tmp_path / "out"
    assert batch(first, "--out", out) == 0 and batch(second, "--out", out) == 0
    assert (summary(out)["done"], summary(out)["outputs"]) == ([str(second)], {str(second): str(out / "clip-2")})
    assert recorded_input(out / "clip") == str(first) and recorded_input(out / "clip-2") == str(second)
    assert batch(first, second, "--out", out) == 0 and summary(out)["skipped"] == [str(first), str(second)]


def test_the_same_input_with_other_settings_gets_its_own_folder(tmp_path, clip):
    out = tmp_path / "out"
    assert batch(clip, "--out", out, "--view", "after") == 0
    assert batch(clip, "--out", out, "--view", "defended") == 0
    assert (out / "clip" / "annotated.mp4").is_file() and (out / "clip-2" / "defended.mp4").is_file()
    assert batch(clip, "--out", out, "--view", "after") == 0
    assert summary(out)["skipped"] == [str(clip)] and summary(out)["outputs"] == {str(clip): str(out / "clip")}


def test_an_input_that_changed_on_disk_is_redone_in_its_folder(tmp_path, clip, capsys):
    video = shutil.copy(clip, tmp_path / "clip.mp4")
    out = tmp_path / "out"
    assert batch(video, "--out", out, "--view", "after") == 0
    os.utime(video, ns=(os.stat(video).st_atime_ns, os.stat(video).st_mtime_ns + 10 ** 9))
    assert batch(video, "--out", out, "--view", "after") == 0
    assert summary(out)["done"] == [str(video)]
    assert sorted(p.name for p in out.iterdir()) == [LOCK, "batch_summary.json", "clip"]
    assert f"{video}: its input changed since; redoing it in {out / 'clip'}" in capsys.readouterr().err


def test_a_truncated_input_is_recorded_so_and_redone_once_it_is_whole(tmp_path, clip, capsys):
    video = tmp_path / "clip.mp4"
    video.write_bytes(clip.read_bytes()[:clip.stat().st_size * 9 // 10])   # a download cut off
    out = tmp_path / "out"
    assert batch(video, "--out", out, "--view", "after") == 0
    first = json.loads((out / "clip" / "summary.json").read_text())
    assert first["truncated"] and 0 < first["frames"] < 30
    assert batch(video, "--out", out, "--view", "after") == 0 and summary(out)["done"] == [str(video)]
    assert "its input was read truncated; redoing it" in capsys.readouterr().err
    shutil.copy(clip, video)   # the whole file arrives
    assert batch(video, "--out", out, "--view", "after") == 0
    whole = json.loads((out / "clip" / "summary.json").read_text())
    assert (whole["truncated"], whole["frames"]) == (False, 30)
    assert batch(video, "--out", out, "--view", "after") == 0 and summary(out)["skipped"] == [str(video)]


def one_pixel_video(path, frames: int = 4):
    with av.open(str(path), "w") as out:
        stream = out.add_stream("ffv1", rate=30)
        stream.width, stream.height, stream.pix_fmt = 1, 1, "yuv444p"
        for i in range(frames):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(np.full((3, 1, 1), 60 * i, np.uint8), format="yuv444p")))
        out.mux(stream.encode())
    return path


def test_a_one_pixel_video_is_processed_and_the_inputs_after_it_too(tmp_path, clip):
    tiny = one_pixel_video(tmp_path / "tiny.mkv")
    out = tmp_path / "out"
    assert batch(tiny, clip, "--out", out) == 0 and summary(out)["done"] == [str(tiny), str(clip)]
    assert json.loads((out / "tiny" / "summary.json").read_text())["frames"] == 4
    with av.open(str(out / "tiny" / "annotated.mp4")) as video:
        assert video.streams.video[0].frames == 4


def test_an_unexpected_error_fails_its_input_alone(tmp_path, clip, monkeypatch, capsys):
    from realtime.commands import batch_segments as batch_video

    tiny = one_pixel_video(tmp_path / "tiny.mkv")
    original = batch_video.output_view

    def fail_on_tiny_frames(result, *args):
        if result.frame.shape[0] == 1:
            raise RuntimeError("a bug that only tiny frames reach")
        return original(result, *args)

    monkeypatch.setattr(batch_video, "output_view", fail_on_tiny_frames)
    out = tmp_path / "out"
    assert batch(tiny, clip, "--out", out) == 1
    reason = f"{tiny}: unexpected error (RuntimeError: a bug that only tiny frames reach)"
    assert summary(out)["failed"] == [{"input": str(tiny), "reason": reason}] and summary(out)["done"] == [str(clip)]
    assert f"saviour: failed: {reason}" in capsys.readouterr().err
    assert not (out / "tiny").exists() and not leftovers(out)


def lock_held_by(out, process) -> bool:
    lock = out / LOCK
    return lock.is_file() and lock.read_text().strip() == str(process.pid)


def test_a_second_batch_on_the_same_folder_is_refused_and_the_first_finishes_whole(tmp_path, clip, capsys):
    out = tmp_path / "out"
    first = saviour("batch", clip, "--out", out)
    wait_for(lambda: lock_held_by(out, first) or first.poll() is not None, what="the first batch's lock")
    code = batch(clip, "--out", out)
    assert code == 2 and errors(capsys.readouterr().err) == [
        f"saviour: error: {out}: another saviour run is writing there (process {first.pid}); "
        "wait for it to end or choose another --out"]
    assert finish(first)[0] == 0 and summary(out)["done"] == [str(clip)]
    with av.open(str(out / "clip" / "annotated.mp4")) as video:
        assert video.streams.video[0].frames == 30


def test_sigterm_during_start_up_writes_the_summary_and_exits_130(tmp_path, clip):
    out = tmp_path / "out"
    run = saviour("batch", clip, "--out", out)
    wait_for(lambda: lock_held_by(out, run), what="the batch's lock")   # taken before the models load
    run.send_signal(signal.SIGTERM)
    code, _, err = finish(run)
    assert code == 130 and "Traceback" not in err and err.splitlines()[-1] == "saviour: interrupted"
    assert summary(out)["pending"] == [str(clip)] and not (out / "clip").exists() and not leftovers(out)


def test_sigterm_mid_input_removes_its_partial_files_and_empty_folder(tmp_path, clip):
    out = tmp_path / "out"
    run = saviour("batch", clip, "--out", out, "--batch-size", "1", "--workers", "1")
    wait_for(lambda: leftovers(out), what="the batch's partial files")
    run.send_signal(signal.SIGTERM)
    code, _, err = finish(run)
    assert code == 130 and "Traceback" not in err
    assert summary(out)["pending"] == [str(clip)] and not (out / "clip").exists() and not leftovers(out)


@pytest.fixture
def small_disk(tmp_path):
    """A 256 KiB tmpfs: a disk that fills up for real (mounting needs root; skipped otherwise)."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if not is_root() or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                                       capture_output=True).returncode != 0:
        pytest.skip("mounting a small tmpfs needs root")
    yield disk
    subprocess.run(["umount", str(disk)], check=True)


def test_a_full_disk_fails_its_input_and_the_batch_goes_on(tmp_path, small_disk):
    big = world_clip(tmp_path / "big.mp4", 300)      # its annotated video does not fit
    small = world_clip(tmp_path / "small.mp4", 2)
    out = small_disk / "out"
    code, stdout, err = finish(saviour("batch", big, small, "--out", out))
    [failed] = summary(out)["failed"]
    # the video or the log, whichever asks for the last free block, names the full disk
    assert failed["reason"] in [f"{out / 'big' / name}: No space left on device" for name in ("annotated.mp4",
                                                                                                "frames.jsonl")]
    assert code == 1 and "Traceback" not in err and f"saviour: failed: {failed['reason']}" in err, err
    assert failed["input"] == str(big) and summary(out)["done"] == [str(small)]
    assert not (out / "big").exists() and not leftovers(out)
