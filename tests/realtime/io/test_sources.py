import itertools
import threading
import time

import cv2
import numpy as np
import pytest

from engine.errors import SaviourError
from realtime.io.sources import LiveSource, open_source, prefetched, screen_region, to_bgr8
from tests.media import world_clip


@pytest.mark.parametrize("frame", [
    np.full((20, 30), 128, np.uint8),                    # grayscale
    np.full((20, 30, 1), 128, np.uint8),
    np.full((20, 30, 4), 128, np.uint8),                 # BGRA
    np.full((20, 30, 3), 128 * 256, np.uint16),          # 16-bit
    np.full((20, 30, 3), 128 / 255, np.float32),         # float in [0, 1]
])
def test_every_frame_shape_becomes_bgr_uint8(frame):
    out = to_bgr8(frame)
    assert out.shape == (20, 30, 3) and out.dtype == np.uint8 and (out == 128).all()


def test_a_folder_or_glob_of_images_plays_in_name_order(tmp_path):
    for i in (2, 0, 1):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((8, 8), i * 50, np.uint8))
    for spec in (str(tmp_path), str(tmp_path / "f*.png")):
        frames = list(open_source(spec))
        assert [f[0, 0, 0] for f in frames] == [0, 50, 100] and frames[0].shape == (8, 8, 3)
    with pytest.raises(SaviourError, match="no images"):
        open_source(str(tmp_path / "*.jpg"))


def test_an_unreadable_image_in_a_folder_is_skipped_with_a_warning(tmp_path, capsys):
    for i in (0, 2):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((8, 8), i * 50, np.uint8))
    (tmp_path / "f1.png").write_bytes(b"half a download")
    assert [f[0, 0, 0] for f in open_source(str(tmp_path))] == [0, 100]
    assert "f1.png: not a readable image; skipped" in capsys.readouterr().err
    for i in (0, 2):
        (tmp_path / f"f{i}.png").write_bytes(b"")
    with pytest.raises(SaviourError, match="none of its images is readable"):
        list(open_source(str(tmp_path)))


def test_a_single_image_file_is_one_frame_with_no_truncation_warning(tmp_path, capsys):
    image = tmp_path / "shot.png"
    cv2.imwrite(str(image), np.full((40, 60, 3), 90, np.uint8))
    frames = list(open_source(str(image), frames=5))
    assert len(frames) == 1 and frames[0].shape == (40, 60, 3)
    assert "truncated" not in capsys.readouterr().err


def test_starting_later_gives_the_same_frames_as_skipping_them(tmp_path):
    for i in range(6):
        cv2.imwrite(str(tmp_path / f"f{i}.png"), np.full((8, 8), i * 40, np.uint8))
    specs = ["world", str(world_clip(tmp_path / "clip.mp4", 12)), str(tmp_path)]
    for spec in specs:
        everything = list(open_source(spec, frames=12))
        later = list(open_source(spec, frames=12).frames_from(4))
        assert len(later) == len(everything) - 4 > 0, spec
        for got, expected in zip(later, everything[4:]):
            np.testing.assert_array_equal(got, expected)
    assert list(open_source(specs[1]).frames_from(50)) == []


class FlakyReader:
    """Delivers `good` numbered frames, then fails; counts how often it was opened."""

    opened = 0

    def __init__(self, good, size=(10, 10)):
        FlakyReader.opened += 1
        self.left, self.size, self.count = good, size, 0

    def read(self):
        time.sleep(0.002)
        if self.left == 0:
            return None
        self.left -= 1
        self.count += 1
        return np.full((*self.size, 3), self.count, np.uint8)

    def close(self):
        pass


def test_an_interrupt_while_the_reader_thread_starts_stops_that_thread(monkeypatch):
    """A reader left running would still be inside the decoder when the interpreter exits after Ctrl-C,
    which aborts the process."""
    started = []
    start = threading.Thread.start

    def start_then_interrupt(thread):
        start(thread)
        started.append(thread)
        raise KeyboardInterrupt

    monkeypatch.setattr(threading.Thread, "start", start_then_interrupt)
    endless = (np.zeros((4, 4, 3), np.uint8) for _ in itertools.count())
    with pytest.raises(KeyboardInterrupt):
        next(prefetched(endless))
    [reader] = started
    assert not reader.is_alive()


def test_a_live_source_reopens_with_backoff_then_ends_cleanly():
    FlakyReader.opened = 0
    plans = iter([(5, (10, 10)), (3, (12, 16))])    # then it never delivers again

    def reopen():
        good, size = next(plans, (0, (12, 16)))
        return FlakyReader(good, size)

    source = LiveSource(reopen, "fake camera", retries=2, backoff=0.01)
    frames = list(source)
    # open, fail, reopen (3 frames), fail, two more reopens that deliver nothing: the end
    assert FlakyReader.opened == 4 and source.reopens == 3
    assert (12, 16, 3) in {f.shape for f in frames}   # frames of a new size after a reopen come through


def test_a_live_source_keeps_only_the_newest_frame_and_counts_drops():
    source = LiveSource(lambda: FlakyReader(200), "fast camera", retries=0, backoff=0.01)
    seen = []
    for frame in source:
        seen.append(int(frame[0, 0, 0]))
        time.sleep(0.02)                          # a slow pipeline
    assert seen == sorted(seen) and len(seen) < 100
    assert source.dropped > 0 and len(seen) + source.dropped == 200


def test_screen_region_and_missing_camera_errors():
    assert screen_region("screen:10,20,300,200") == {"left": 10, "top": 20, "width": 300, "height": 200}
    with pytest.raises(SaviourError, match="screen:x,y,w,h"):
        screen_region("screen:1,2")
    with pytest.raises(SaviourError, match="camera 57: cannot open it"):
        open_source("57")
