"""`saviour batch` splits a long video into segments and joins them: the same log, the same number of
frames at the same times, the sound kept; a crash keeps the segments done before it."""

import json

import av
import numpy as np
import pytest

from realtime.cli import main
from realtime.commands.batch_segments import Segment, plan
from realtime.io.sources import VideoFileSource
from tests.media import clip_with_sound, streams, world_clip


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory):
    return world_clip(tmp_path_factory.mktemp("clips") / "long.mp4", 75)


def log(folder):
    """The frame log without its timings."""
    return [{k: v for k, v in json.loads(line).items() if k != "timings_ms"}
            for line in (folder / "frames.jsonl").read_text().splitlines()]


def decoded(path):
    with av.open(str(path)) as video:
        return [(frame.pts, frame.to_ndarray(format="bgr24")) for frame in video.decode(video=0)]


def psnr(a, b) -> float:
    return 10 * np.log10(255 ** 2 / max(1e-9, np.mean((a.astype(float) - b) ** 2)))


def batch(clip, out, *flags):
    return main(["batch", str(clip), "--out", str(out), "--batch-size", "4", "--device", "cpu", *flags])


def test_the_plan_splits_only_a_longer_video_into_near_equal_segments(long_clip):
    source = VideoFileSource(long_clip)   # 75 frames, 2.5 s
    assert plan(source, 1.0, split=True) == [Segment(0, 3, 0, 25), Segment(1, 3, 25, 50), Segment(2, 3, 50, None)]
    assert plan(source, 2.5, split=True) == plan(source, 0, split=True) == [Segment(0, 1)]
    assert plan(source, 1.0, split=False) == [Segment(0, 1)]


def test_frames_read_from_a_seek_equal_those_read_in_order(long_clip):
    whole = list(VideoFileSource(long_clip))
    for start in (1, 25, 74):
        assert all(np.array_equal(a, b) for a, b in zip(VideoFileSource(long_clip).frames_from(start), whole[start:]))


def test_a_split_video_joins_into_the_same_log_and_frames_at_the_same_times(tmp_path, long_clip):
    assert batch(long_clip, tmp_path / "whole", "--segment-seconds", "0") == 0
    assert batch(long_clip, tmp_path / "split", "--segment-seconds", "1") == 0
    whole, split = tmp_path / "whole" / "long", tmp_path / "split" / "long"
    assert log(split) == log(whole) and [r["frame"] for r in log(split)] == list(range(75))
    assert json.loads((split / "summary.json").read_text())["segments"] == 3
    assert not (split / "segments").exists() and not list(split.parent.rglob("*.part"))
    joined, reference = decoded(split / "annotated.mp4"), decoded(whole / "annotated.mp4")
    assert [pts for pts, _ in joined] == [pts for pts, _ in reference]
    # each segment is encoded on its own (the first frame of each a keyframe): the pictures are the same
    # up to the encoder's loss, which at the default quality stays above 30 dB PSNR
    assert min(psnr(a, b) for (_, a), (_, b) in zip(joined, reference)) > 30


def test_a_split_video_keeps_its_sound(tmp_path):
    clip = clip_with_sound(tmp_path / "talk.mp4", 60, "aac")
    assert batch(clip, tmp_path / "out", "--segment-seconds", "0.7", "--view", "defended") == 0
    found = streams(tmp_path / "out" / "talk" / "defended.mp4")
    assert found["video"] == ("h264", 2.0, 60) and found["audio"][0] == "aac"
    assert found["audio"][1] == pytest.approx(2.0, abs=0.03)


def test_segments_done_before_a_crash_are_not_redone(tmp_path, long_clip, monkeypatch):
    from realtime.commands import batch_input

    runs = []
    original = batch_input.process_segment

    def crash_on_the_third(path, segment, *args):
        runs.append(segment.index)
        if segment.index == 2 and runs.count(2) == 1:
            raise KeyboardInterrupt
        return original(path, segment, *args)

    monkeypatch.setattr(batch_input, "process_segment", crash_on_the_third)
    out = tmp_path / "out"
    assert batch(long_clip, out, "--segment-seconds", "1") == 130
    assert sorted(p.name for p in (out / "long" / "segments").iterdir()) == [
        "0000.json", "0000.jsonl", "0000.mp4", "0001.json", "0001.jsonl", "0001.mp4"]
    assert batch(long_clip, out, "--segment-seconds", "1") == 0
    assert runs == [0, 1, 2, 2]
    assert batch(long_clip, tmp_path / "clean", "--segment-seconds", "1") == 0
    assert log(out / "long") == log(tmp_path / "clean" / "long")
    assert (out / "long" / "annotated.mp4").read_bytes() == (tmp_path / "clean" / "long" / "annotated.mp4").read_bytes()


def test_the_live_heatmap_keeps_a_video_whole(tmp_path, long_clip):
    assert batch(long_clip, tmp_path / "out", "--segment-seconds", "1", "--heatmap", "rise") == 0
    assert json.loads((tmp_path / "out" / "long" / "summary.json").read_text())["segments"] == 1
