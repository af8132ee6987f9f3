"""Where results go, all with one protocol: `write(item)` for each result in frame order, then
`close()` (or use the sink as a context manager: an error drops its partial file instead).

Each sink turns an item into what it stores with `render` (an output view of a FrameResult, a
record for the log, or the item itself when it already is a frame), so one runner stage can feed any
of them. Every file appears under its final name only when complete.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np

from engine.files import partial_name
from realtime.io.gif import write_gif
from realtime.io.sink import Sink
from realtime.io.video import Mp4Writer, prepare_output


def _same(item):
    return item


class VideoSink(Sink):
    """An H.264 MP4 (see `Mp4Writer`) of `render(item)`; with `seconds`, a function of the item giving its
    time from the start, frames keep the times they were shown at."""

    def __init__(self, path: str | Path, fps: float, render: Callable = _same, sound_of=None,
                 seconds: Callable | None = None):
        self.video, self.render, self.seconds = Mp4Writer(path, fps=fps, sound_of=sound_of), render, seconds

    @property
    def path(self) -> Path:
        return self.video.path

    @property
    def frames(self) -> int:
        return self.video.frames

    def write(self, item) -> None:
        self.video.write(self.render(item), None if self.seconds is None else self.seconds(item))

    def close(self) -> Path | None:
        if not self.video.frames:
            self.video.abort()
            return None
        return self.video.close()

    def abort(self) -> None:
        self.video.abort()


class GifSink(Sink):
    """A looping GIF of every `every`-th `render(item)`, at most `limit` frames, written on close at
    `fps` (or at what `fps()` says then, when it is a function: a live run's measured rate)."""

    def __init__(self, path: str | Path, fps, render: Callable = _same, every: int = 1, width: int | None = None,
                 limit: int | None = None):
        self.path = prepare_output(path, ".gif")
        self.fps, self.render, self.every, self.width, self.limit = fps, render, every, width, limit
        self.frames: list[np.ndarray] = []
        self.seen = 0

    def write(self, item) -> None:
        if self.seen % self.every == 0 and (self.limit is None or len(self.frames) < self.limit):
            self.frames.append(self.render(item))
        self.seen += 1

    def close(self) -> Path | None:
        if not self.frames:
            return None
        fps = self.fps() if callable(self.fps) else self.fps
        return write_gif(self.frames, self.path, fps=fps, width=self.width)

    def abort(self) -> None:
        self.frames.clear()


class JsonlSink(Sink):
    """One JSON line per item, `record(item, index)`, under a temporary name until closed."""

    def __init__(self, path: str | Path, record: Callable[[object, int], dict]):
        self.path = Path(path)
        self.record, self.lines = record, 0
        self._tmp = partial_name(self.path)
        self._file = open(self._tmp, "w")

    def write(self, item) -> None:
        try:
            self._file.write(json.dumps(self.record(item, self.lines)) + "\n")
        except OSError as error:   # Python's write errors do not say which file
            error.filename = str(self.path)
            raise
        self.lines += 1

    def close(self) -> Path:
        try:
            self._file.close()
            self._tmp.replace(self.path)
        except OSError as error:
            self.abort()
            error.filename = str(self.path)
            raise
        return self.path

    def abort(self) -> None:
        try:
            self._file.close()
        except OSError:   # a full disk while flushing: the partial file goes either way
            pass
        self._tmp.unlink(missing_ok=True)


class CameraSink(Sink):
    """A virtual camera (realtime.io.virtualcam.VirtualCamera) fed `render(item)`."""

    def __init__(self, camera, render: Callable = _same):
        self.camera, self.render = camera, render

    def write(self, item) -> None:
        self.camera.send(self.render(item))

    def close(self) -> None:
        self.camera.close()

    def abort(self) -> None:
        self.camera.close()
