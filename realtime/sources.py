"""Frame sources: the farm world or a video file, yielding BGR uint8 frames."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from engine.errors import SaviourError
from realtime.world import FarmWorld


class Source:
    """A sequence of BGR uint8 frames with a frame rate; `frames` is None when unbounded or unknown."""

    fps: float = 30.0
    frames: int | None = None

    def __iter__(self) -> Iterator[np.ndarray]:
        raise NotImplementedError


class WorldSource(Source):
    """Frames of a seeded farm world."""

    def __init__(self, seed: int = 0, frames: int | None = 300, size=(640, 360), **world_options):
        self.world = FarmWorld(seed=seed, size=size, frames=frames, **world_options)
        self.frames, self.fps = frames, self.world.fps

    def __iter__(self):
        for frame, _ in self.world:
            yield frame


class VideoFileSource(Source):
    """Frames of a video file, read in order; fails early with a clear message if it is not a video."""

    def __init__(self, path: str | Path, frames: int | None = None):
        self.path = Path(path)
        if not self.path.is_file():
            raise SaviourError(f"{self.path}: no such video file")
        capture = cv2.VideoCapture(str(self.path))
        ok = capture.isOpened() and capture.read()[0]
        if not ok:
            capture.release()
            raise SaviourError(f"{self.path}: cannot read it as a video")
        count = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.fps = capture.get(cv2.CAP_PROP_FPS) or 30.0
        capture.release()
        known = count if count > 0 else None
        self.frames = min(frames, known) if frames is not None and known else (frames or known)

    def __iter__(self):
        capture = cv2.VideoCapture(str(self.path))
        try:
            read = 0
            while self.frames is None or read < self.frames:
                ok, frame = capture.read()
                if not ok:
                    break
                read += 1
                yield frame
        finally:
            capture.release()


def open_source(spec: str, frames: int | None = None, seed: int = 0) -> Source:
    """`world` for the farm world (seeded), otherwise a video file path."""
    if spec == "world":
        return WorldSource(seed=seed, frames=frames if frames is not None else 300)
    return VideoFileSource(spec, frames)
