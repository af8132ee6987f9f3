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
import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from engine.errors import SaviourError, warn
from farm.world import FarmWorld

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"}
PREFETCH = 8
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


def _short_of(read: int, length: int) -> bool:
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
        capture = cv2.VideoCapture(str(self.path))
        try:
            read = 0
            while read < start and capture.grab():   # decoded, never converted: about twice as fast
                read += 1
            while self.frames is None or read < self.frames:
                ok, frame = capture.read()
                if not ok:
                    self._warn_if_short(read)
                    break
                read += 1
                yield to_bgr8(frame)
        finally:
            capture.release()

    def _warn_if_short(self, read: int) -> None:
        """Say so when a file ends well before the frame count its header gives (a cut-off download
        or recording): the run goes on with the frames there are, and `truncated` tells the caller."""
        if self.header_frames and _short_of(read, self.frames):
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
    thread.start()
    try:
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
        thread.join(timeout=5)


class LiveSource(Source):
    """A camera, a stream or the screen, read on a thread that keeps only the newest frame.

    A device that stops delivering is reopened up to `retries` times with doubling waits; then the
    iteration ends with `lost` set (the caller finalises its outputs). Frames of a new size after a
    reopen are passed on.

    A stream of finite length (a video file served over HTTP) is read as a file is: every frame, in
    order (`live` False). Once it has delivered all its frames it has ended, not failed: the iteration
    ends without a reopen. One that fails part way is reopened where it stopped, and its retry budget
    is only renewed by frames it had not delivered yet.
    """

    def __init__(self, open_reader, description: str, retries: int = 3, backoff: float = 0.5):
        self.open_reader, self.description = open_reader, description
        self.retries, self.backoff = retries, backoff
        self.reader = open_reader()
        if self.reader is None:
            raise SaviourError(f"{description}: cannot open it")
        self.fps = getattr(self.reader, "fps", 30.0)
        self.frames = getattr(self.reader, "length", None)
        self.live = self.frames is None
        self._newest, self._fresh = None, threading.Condition()
        self._stopped, self._ended, self.reopens, self.dropped = False, False, 0, 0
        self.lost = False   # True when the iteration ended because the source failed for good
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._read_until_gone()
        finally:
            with self._fresh:
                self._ended = True
                self._fresh.notify()
            self.reader.close()

    def _read_until_gone(self) -> None:
        failures, furthest = 0, 0
        while not self._stopped:
            frame = self.reader.read()
            if frame is None:
                if getattr(self.reader, "finished", False):
                    return
                failures += 1
                if failures > self.retries:
                    self.lost = True
                    warn(f"{self.description}: still no frame after {self.retries} reopening(s); ending the run")
                    return
                wait = self.backoff * 2 ** (failures - 1)
                warn(f"{self.description}: no frame; reopening in {wait:g} s ({failures} of {self.retries})")
                time.sleep(wait)
                self.reader.close()
                self.reader = self._reopen(furthest)
                self.reopens += 1
                continue
            finite = getattr(self.reader, "length", None) is not None
            if not finite or self.reader.position > furthest:   # new content: the source works again
                failures, furthest = 0, self.reader.position if finite else 0
            with self._fresh:
                if not self.live:   # a finite stream keeps every frame: wait until the last one is taken
                    self._fresh.wait_for(lambda: self._newest is None or self._stopped)
                if self._newest is not None:
                    self.dropped += 1
                self._newest = to_bgr8(frame)
                self._fresh.notify()

    def _reopen(self, position: int):
        """A new reader, moved on to `position` when it reads content of finite length."""
        try:
            reader = self.open_reader()
            if reader is not None and getattr(reader, "length", None) is not None:
                reader.skip_to(position)
            return reader or _Closed()
        except (SaviourError, OSError, cv2.error):
            return _Closed()

    def __iter__(self):
        while True:
            with self._fresh:
                self._fresh.wait_for(lambda: self._newest is not None or self._ended)
                if self._newest is None:
                    return
                frame, self._newest = self._newest, None
                self._fresh.notify()
            yield frame

    def close(self) -> None:
        with self._fresh:
            self._stopped = True
            self._fresh.notify()
        self._thread.join(timeout=2)


class _Closed:
    def read(self):
        return None

    def close(self):
        pass


class CaptureReader:
    """cv2.VideoCapture of a camera index or a stream URL, read one frame at a time.

    `length` is the number of frames a stream of finite length reports (a video file served over
    HTTP), None for a camera or a live stream; `position` counts the frames read of it, and
    `finished` tells a stream that delivered them all from one that failed.
    """

    def __init__(self, target):
        self.capture = cv2.VideoCapture(target)
        self.fps = frame_rate(self.capture.get(cv2.CAP_PROP_FPS), str(target))
        count = self.capture.get(cv2.CAP_PROP_FRAME_COUNT) if not isinstance(target, int) else 0
        self.length = int(count) if 0 < count < 2 ** 31 else None
        self.position = 0

    @classmethod
    def open(cls, target):
        previous = cv2.utils.logging.getLogLevel()
        cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)   # backends probing a missing camera
        try:
            reader = cls(target)
        finally:
            cv2.utils.logging.setLogLevel(previous)
        if not reader.capture.isOpened():
            reader.close()
            return None
        return reader

    def read(self):
        ok, frame = self.capture.read()
        if not ok:
            return None
        self.position += 1
        return frame

    @property
    def finished(self) -> bool:
        return self.length is not None and not _short_of(self.position, self.length)

    def skip_to(self, position: int) -> None:
        """Read on, without converting, to frame `position` (a reopened stream starts from its beginning)."""
        while self.position < position and self.capture.grab():
            self.position += 1

    def close(self):
        self.capture.release()


class ScreenReader:
    """A region of the screen through mss (`pip install mss`)."""

    fps = 30.0

    def __init__(self, region: dict | None):
        try:
            import mss
        except ImportError:
            raise SaviourError("screen capture needs the mss package: pip install mss") from None
        try:
            self.grabber = getattr(mss, "MSS", mss.mss)()   # mss 10 renamed its entry point
        except mss.exception.ScreenShotError as error:   # no display, or one that refuses the connection
            raise SaviourError(f"screen: cannot capture it ({error})") from None
        self.region = region or self.grabber.monitors[1 if len(self.grabber.monitors) > 1 else 0]
        self._due = time.perf_counter()

    def read(self):
        # a screen, unlike a camera, has no frame clock: grabbing flat out took a core from the pipeline
        # and counted a thousand "dropped" frames for twenty shown
        now = time.perf_counter()
        if now < self._due:
            time.sleep(self._due - now)
        self._due = max(self._due, now) + 1 / self.fps
        try:
            return np.asarray(self.grabber.grab(self.region))
        except Exception:   # mss raises its own ScreenShotError, and X errors when the display goes
            return None

    def close(self):
        self.grabber.close()


def screen_region(spec: str) -> dict | None:
    """`screen` (the whole first monitor) or `screen:x,y,w,h`."""
    if spec == "screen":
        return None
    try:
        x, y, w, h = (int(v) for v in spec.split(":", 1)[1].split(","))
    except ValueError:
        raise SaviourError(f"--source {spec}: expected screen or screen:x,y,w,h (e.g. screen:0,0,640,360)") from None
    if w <= 0 or h <= 0:
        raise SaviourError(f"--source {spec}: width and height must be positive")
    return {"left": x, "top": y, "width": w, "height": h}


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
