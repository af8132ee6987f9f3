"""Frame sources, all yielding BGR uint8 frames: the farm world, video files, image files, cameras and
streams, and a region of the screen.

File sources are read in order and never drop a frame (a reader thread keeps a small queue filled).
Live sources (camera, stream, screen) are read on their own thread, which keeps only the newest frame,
so the pipeline never works on a stale one; frames it never took are counted in `dropped`.
"""

from __future__ import annotations

import glob
import itertools
import queue
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from engine.errors import SaviourError, warn
from farm.world import FarmWorld
from realtime.io.frames import Source, frame_rate, short_of, to_bgr8
from realtime.io.streams import CaptureReader, LiveSource, ScreenReader, screen_region

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
PREFETCH = 8


class WorldSource(Source):
    """Frames of a seeded farm world."""

    def __init__(self, seed: int = 0, frames: int | None = 300, size=(640, 360), **world_options):
        self.world = FarmWorld(seed=seed, size=size, frames=frames, **world_options)
        self.frames, self.fps = frames, self.world.fps

    def frames_from(self, start: int) -> Iterator[np.ndarray]:
        indices = itertools.count(start) if self.frames is None else range(start, self.frames)
        return (self.world.render(i)[0] for i in indices)


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
        self.fps = frame_rate(capture.get(cv2.CAP_PROP_FPS), str(self.path))
        capture.release()
        self.truncated = False   # set once a read of the whole file ends short of its header's count
        self.header_frames = count if count > 0 else None   # None for a still image or a live stream
        self.sound = self.path
        known = self.header_frames
        self.frames = min(frames, known) if frames is not None and known else (frames or known)

    def frames_from(self, start: int) -> Iterator[np.ndarray]:
        return prefetched(self._read(start))

    def _read(self, start: int):
        capture, read = self._opened_at(start)
        try:
            while self.frames is None or read < self.frames:
                ok, frame = capture.read()
                if not ok:
                    self._warn_if_short(read)
                    break
                read += 1
                yield to_bgr8(frame)
        finally:
            capture.release()

    def _opened_at(self, start: int) -> tuple[cv2.VideoCapture, int]:
        """The file opened at frame `start` (or at its end, if sooner) and the frames before it: a seek
        where FFmpeg says it landed on that frame, else the frames before it decoded and dropped."""
        capture = cv2.VideoCapture(str(self.path))
        if start == 0 or (capture.set(cv2.CAP_PROP_POS_FRAMES, start)
                          and capture.get(cv2.CAP_PROP_POS_FRAMES) == start):
            return capture, start
        capture.release()
        capture, read = cv2.VideoCapture(str(self.path)), 0
        while read < start and capture.grab():   # decoded, never converted: about twice as fast
            read += 1
        return capture, read

    def _warn_if_short(self, read: int) -> None:
        """Say so when a file ends well before the frame count its header gives (a cut-off download
        or recording): the run goes on with the frames there are, and `truncated` tells the caller."""
        if self.header_frames and short_of(read, self.frames):
            self.truncated = True
            warn(f"{self.path}: the video ended after {read} of {self.frames} frames; it may be truncated")


class ImageFilesSource(Source):
    """Image files in name order (a folder's images, or a glob's matches), as a video of `fps`."""

    def __init__(self, files: list[Path], fps: float = 30.0, description: str = ""):
        if not files:
            raise SaviourError(f"{description}: no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        self.files, self.fps, self.frames, self.description = files, fps, len(files), description

    def frames_from(self, start: int) -> Iterator[np.ndarray]:
        return prefetched(self._read(self.files[start:]))

    def _read(self, files: list[Path]):
        read = 0
        for file in files:
            image = cv2.imread(str(file), cv2.IMREAD_UNCHANGED)
            if image is None:   # one half-written or corrupt shot among many should not end the run
                warn(f"{file}: not a readable image; skipped")
                continue
            read += 1
            yield to_bgr8(image)
        if files and not read:
            raise SaviourError(f"{self.description or files[0]}: none of its images is readable")


def prefetched(frames: Iterator[np.ndarray], size: int = PREFETCH) -> Iterator[np.ndarray]:
    """Iterate `frames` read ahead on a thread into a bounded queue (no frame is dropped)."""
    items: queue.Queue = queue.Queue(size)
    done = object()
    stop = threading.Event()

    def read():
        try:
            if stop.is_set():   # the consumer was interrupted while this thread started
                return
            for frame in frames:
                while not stop.is_set():
                    try:
                        items.put(frame, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            items.put(done)
        except BaseException as error:   # handed to the consumer, raised there
            items.put(error)

    thread = threading.Thread(target=read, daemon=True)
    try:
        thread.start()   # inside: an interrupt can land while start() waits for the thread
        while True:
            item = items.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        # wait for the frame being decoded: a daemon thread still inside FFmpeg when the interpreter
        # exits (after Ctrl-C) aborts the process ("exception not rethrown")
        stop.set()
        try:
            thread.join(timeout=5)
        except RuntimeError:   # not started yet: it will see `stop` and return before reading
            pass


def open_source(spec: str, frames: int | None = None, seed: int = 0, retries: int = 3) -> Source:
    """A source from its spec: `world`, a camera index (`0`), `screen[:x,y,w,h]`, a stream URL,
    a folder of images, a glob of images, or a video file."""
    if not spec.strip():
        raise SaviourError("--source is empty: give world, a camera index, screen, a stream URL, a video, "
                           "a folder or a glob of images")
    if spec == "world":
        return WorldSource(seed=seed, frames=frames if frames is not None else 300)
    if spec.isdigit():
        return LiveSource(lambda: CaptureReader.open(int(spec)), f"camera {spec}", retries)
    if spec == "screen" or spec.startswith("screen:"):
        region = screen_region(spec)
        return LiveSource(lambda: ScreenReader(region), spec, retries)
    if "://" in spec:
        return LiveSource(lambda: CaptureReader.open(spec), spec, retries)
    path = Path(spec)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        return ImageFilesSource(files, description=spec)
    if any(c in spec for c in "*?[") and not path.exists():
        files = [Path(p) for p in sorted(glob.glob(spec, recursive=True)) if Path(p).suffix.lower() in IMAGE_SUFFIXES]
        return ImageFilesSource(files, description=spec)
    return VideoFileSource(spec, frames)
