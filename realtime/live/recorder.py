"""Recording what the live app shows: an MP4 and a GIF beside it."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from realtime.io.gif import fit_width
from realtime.io.sink import Sink
from realtime.io.sinks import GifSink, VideoSink
from realtime.io.video import letterboxed

GIF_WIDTH, GIF_SECONDS = 480, 30


class Recorder(Sink):
    """MP4 and GIF of the shown frames between two presses of r (or for the whole run with --record).

    The GIF (about 10 fps, 480 px wide) holds the recording's first GIF_SECONDS: its frames wait in
    memory until it is written, and a GIF of a long run would be hundreds of MB anyway.

    With `clock` (a camera, stream or screen) frames keep the times they were shown at, so the
    recording plays in real time whatever rate the pipeline reached; otherwise they are the source's
    frames at its own rate (a video, images, the farm world).
    """

    def __init__(self, path: Path, fps: float, clock: bool = False):
        self.path, self.fps = Path(path), fps
        self.clock, self.started, self.seconds = clock, None, 0.0
        self.size: tuple[int, int] | None = None   # every frame is fitted into the first one's size
        self.video = VideoSink(self.path, fps, seconds=(lambda _: self.seconds) if clock else None)
        self.every = max(1, round(fps / 10))
        self.gif = GifSink(self.path.with_suffix(".gif"), self._gif_fps, lambda f: fit_width(f, GIF_WIDTH), self.every)

    def write(self, frame: np.ndarray) -> None:
        if self.size is None:
            self.size = frame.shape[:2]
        frame = letterboxed(frame, self.size)   # the view changed (key v) or the camera's size did
        if self.clock:
            now = time.perf_counter()
            if self.started is None:
                self.started = now
            self.seconds = now - self.started
        at = self.seconds if self.clock else self.video.frames / self.fps
        self.video.write(frame)
        if at < GIF_SECONDS:
            self.gif.write(frame)

    def _gif_fps(self) -> float:
        """The rate the frames were shown at (or the source's), over the frames the GIF skips."""
        frames = self.video.frames
        shown = (frames - 1) / self.seconds if self.clock and self.seconds > 0 else self.fps
        return shown / self.every

    def close(self) -> list[Path]:
        """Both files, or none when nothing was recorded."""
        video = self.video.close()
        return [video, self.gif.close()] if video is not None else []

    def abort(self) -> None:
        self.video.abort()
        self.gif.abort()
