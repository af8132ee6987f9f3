"""Streams: a video served over HTTP ends when it has been delivered; one that fails is reopened
where it stopped, and gives up after its retries without starting over."""

import shutil

import av

from realtime.cli import main
from tests.faults.conftest import errors


def frames_in(path) -> int:
    with av.open(str(path)) as video:
        return sum(1 for _ in video.decode(video=0))


def live(url: str, record) -> int:
    """A headless live run of `url` recorded to `record`; --max-frames ends it even if it starts over."""
    return main(["live", "--source", url, "--no-window", "--record", str(record), "--retries", "2",
                 "--max-frames", "100", "--device", "cpu"])


def test_a_finite_video_over_http_ends_after_one_download_with_every_frame(tmp_path, clip, served, capsys):
    shutil.copy(clip, tmp_path / "clip.mp4")
    record = tmp_path / "out" / "run.mp4"
    code = live(served.url("clip.mp4"), record)
    captured = capsys.readouterr()
    assert code == 0 and served.requests == 1 and "reopening" not in captured.err
    assert frames_in(record) == 30 and "30 frames" in captured.out and "0 dropped" in captured.out


def test_a_download_cut_part_way_is_reopened_where_it_stopped(tmp_path, clip, served, capsys):
    shutil.copy(clip, tmp_path / "clip.mp4")
    served.cut, served.cut_bytes = 1, clip.stat().st_size * 9 // 10
    record = tmp_path / "run.mp4"
    code = live(served.url("clip.mp4"), record)
    captured = capsys.readouterr()
    assert code == 0 and served.requests == 2 and "(1 of 2)" in captured.err
    assert frames_in(record) == 30   # the frames before the cut once, the rest after it


def test_a_download_cut_every_time_gives_up_after_its_retries_with_exit_code_1(tmp_path, clip, served, capsys):
    shutil.copy(clip, tmp_path / "clip.mp4")
    served.cut, served.cut_bytes = 10, clip.stat().st_size * 9 // 10
    record = tmp_path / "run.mp4"
    code = live(served.url("clip.mp4"), record)
    captured = capsys.readouterr()
    assert code == 1 and served.requests == 3   # the budget is not renewed by the same frames again
    assert errors(captured.err) == [f"saviour: error: {served.url('clip.mp4')}: the source was lost after "
                                    f"{frames_in(record)} frames"]
    assert 0 < frames_in(record) < 30
