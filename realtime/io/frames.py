"""What every frame source is: a sequence of BGR uint8 frames with a frame rate, and the checks
all sources share."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from engine.errors import warn

DEFAULT_FPS = 30.0
FPS_RANGE = (1.0, 240.0)   # outside it a reported rate is a broken header, not a real one


def frame_rate(reported: float, description: str) -> float:
    """The rate a source reports, or DEFAULT_FPS when it reports none (0) or an implausible one, such as
    a container with a broken timescale whose outputs would otherwise play at 1/512 FPS."""
    if not reported > 0:   # 0, -1 or NaN: the source does not know
        return DEFAULT_FPS
    if not FPS_RANGE[0] <= reported <= FPS_RANGE[1]:
        warn(f"{description}: reports {reported:.4g} frames per second; using {DEFAULT_FPS:g}")
        return DEFAULT_FPS
    return reported


def short_of(read: int, length: int) -> bool:
    """True when `read` frames fall clearly short of a `length` that a header gives: some containers
    only estimate it from the duration, so a frame or two (or 1%) missing is not a cut-off file."""
    return read < length - max(2, length // 100)


def to_bgr8(frame: np.ndarray) -> np.ndarray:
    """Any frame a source may give (grayscale, BGRA, 16-bit, float) as H x W x 3 uint8 BGR."""
    if frame.dtype == np.uint16:
        frame = (frame >> 8).astype(np.uint8)
    elif frame.dtype.kind == "f":
        frame = (np.clip(frame, 0, 1) * 255).round().astype(np.uint8)
    elif frame.dtype != np.uint8:
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    if frame.ndim == 2 or frame.shape[2] == 1:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return frame


class Source:
    """A sequence of BGR uint8 frames with a frame rate; `frames` is None when unbounded or unknown."""

    fps: float = 30.0
    frames: int | None = None
    live: bool = False
    dropped: int = 0
    sound: Path | None = None   # a file whose sound an MP4 made from these frames can carry (a video)

    # a subclass defines one of __iter__ and frames_from; each default is made of the other
    def __iter__(self) -> Iterator[np.ndarray]:
        return self.frames_from(0)

    def frames_from(self, start: int) -> Iterator[np.ndarray]:
        """The frames from index `start` on. Sources that can get there without making the frames
        before it (rendering them, converting them to pixels, reading image files) define this."""
        if type(self).__iter__ is Source.__iter__:   # neither is defined: say so rather than recurse
            raise NotImplementedError(f"{type(self).__name__} defines neither __iter__ nor frames_from")
        return itertools.islice(iter(self), start, None)

    def close(self) -> None:
        """Stop any reader thread."""


