"""Live sources: cameras, streams and the screen, read on their own thread (see LiveSource)."""

from __future__ import annotations

import threading
import time

import cv2
import numpy as np

from engine.errors import SaviourError, warn
from realtime.io.frames import Source, frame_rate, short_of, to_bgr8


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
        try:
            self._thread.start()
        except BaseException:   # an interrupt while it started: no caller would ever close it
            self.close()
            raise

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
        try:
            self._thread.join(timeout=2)
        except RuntimeError:   # not started yet: it sees `_stopped` and ends before reading
            pass


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
        return self.length is not None and not short_of(self.position, self.length)

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


