"""Writing H.264 MP4 files that play in a browser, without leaving half-written files behind.

OpenCV's pip wheel has no H.264 encoder, so frames go through PyAV (libx264, yuv420p). The file is
written under a temporary name beside the target and renamed only when it is complete.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from engine.errors import SaviourError
from engine.files import partial_name
from realtime.io.audio import SoundTrack
from realtime.io.sink import Sink

MILLISECONDS = Fraction(1, 1000)   # the time base of frames written with their own timestamps


def prepare_output(path: str | Path, suffix: str | None = None) -> Path:
    """Create the output's folder if needed and check it can be written, and that its name ends in
    `suffix` when one is given (an MP4 named .gif would mislead); raise SaviourError if not."""
    path = Path(path)
    if path.is_dir():
        raise SaviourError(f"{path}: is a folder; give a file name such as {path / ('out' + (suffix or '.mp4'))}")
    if suffix is not None and path.suffix.lower() != suffix:
        raise SaviourError(f"{path}: this output is written as {suffix}; name it {path.with_suffix(suffix).name}")
    _writable_folder(path.parent, probe=f"{path.name}.probe")
    return path


def prepare_folder(path: str | Path) -> Path:
    """Create an output folder if needed and check it can be written; raise SaviourError if not.
    Called before the work, so a bad --out does not waste it."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise SaviourError(f"{path}: is a file; give a folder for the outputs")
    return _writable_folder(path, probe="probe")


def _writable_folder(folder: Path, probe: str) -> Path:
    """Create `folder` if needed and write and remove an empty file named after `probe` in it (a
    name of this run's own, so two runs probing one folder do not remove each other's)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe_file = partial_name(folder / probe)
        probe_file.write_bytes(b"")
        probe_file.unlink()
    except OSError as error:
        raise SaviourError(f"{folder}: cannot write output there ({error.strerror or error})") from None
    return folder


def letterboxed(frame: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """`frame` scaled to fit (height, width) `size` without distortion, centred on black."""
    height, width = size
    if frame.shape[:2] == (height, width):
        return frame
    scale = min(height / frame.shape[0], width / frame.shape[1])
    fitted = cv2.resize(frame, (max(1, round(frame.shape[1] * scale)), max(1, round(frame.shape[0] * scale))),
                        interpolation=cv2.INTER_AREA)
    canvas = np.zeros((height, width, 3), np.uint8)
    top, left = (height - fitted.shape[0]) // 2, (width - fitted.shape[1]) // 2
    canvas[top:top + fitted.shape[0], left:left + fitted.shape[1]] = fitted
    return canvas


def even_sided(frame: np.ndarray) -> np.ndarray:
    """yuv420p needs even sides: drop a last odd row or column, or, of a side of one pixel, repeat it."""
    if min(frame.shape[:2]) < 2:
        frame = cv2.copyMakeBorder(frame, 0, int(frame.shape[0] < 2), 0, int(frame.shape[1] < 2), cv2.BORDER_REPLICATE)
    return frame[: frame.shape[0] // 2 * 2, : frame.shape[1] // 2 * 2]


class Mp4Writer(Sink):
    """Writes BGR uint8 frames to an H.264 MP4; use as a context manager.

    The file appears under its final name only when the writer closes without an error. Frames
    take the first one's size (others are letterboxed into it). With `sound_of`, a video file, that
    file's sound is carried over under the written frames.

    Example:
        >>> with Mp4Writer("out/detect.mp4", fps=30) as video:
        ...     video.write(frame_bgr)
    """

    def __init__(self, path: str | Path, fps: float = 30.0, crf: int = 23, sound_of: str | Path | None = None):
        self.path = prepare_output(path, ".mp4")
        self.fps, self.crf, self.sound_of = fps, crf, sound_of
        self._tmp = partial_name(self.path)
        self._container = self._stream = self._sound = None
        self.frames, self._pts = 0, -1

    def write(self, frame: np.ndarray, seconds: float | None = None) -> None:
        """Append a frame. With `seconds`, its time from the start (a live run's clock: frames then
        play back at the pace they were shown); without, the next slot at `fps`. Use one or the other."""
        frame = even_sided(frame)
        if self._container is None:
            self._open(frame.shape[1], frame.shape[0], timed=seconds is not None)
        # a frame of another size (a folder of mixed images) is fitted in; PyAV would stretch it
        frame = letterboxed(frame, (self._stream.height, self._stream.width))
        # OpenCV's BGR -> I420 is several times faster than PyAV's swscale, with the same BT.601
        # video-range luma (within one level); chroma is the mean of each 2x2 block
        yuv = cv2.cvtColor(np.ascontiguousarray(frame), cv2.COLOR_BGR2YUV_I420)
        packet_frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
        if seconds is not None:
            self._pts = max(round(seconds * MILLISECONDS.denominator), self._pts + 1)   # strictly increasing
            packet_frame.pts, packet_frame.time_base = self._pts, MILLISECONDS
        for packet in self._stream.encode(packet_frame):
            self._container.mux(packet)
        self.frames += 1
        if self._sound is not None:
            self._sound.mux_until(self._container, self.frames / self.fps)

    def _open(self, width: int, height: int, timed: bool = False) -> None:
        # faststart is the muxer's option: the index goes first, so a browser plays the file while it loads
        self._container = av.open(str(self._tmp), mode="w", format="mp4", options={"movflags": "+faststart"})
        self._stream = self._container.add_stream("libx264", rate=Fraction(self.fps).limit_denominator(1001))
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        # subme 1, superfast's subpixel search: about a sixth less CPU than veryfast's own, for files
        # about 5% larger at the same quality (crf)
        self._stream.options = {"crf": str(self.crf), "preset": "veryfast", "x264-params": "subme=1"}
        if timed:
            self._stream.codec_context.time_base = MILLISECONDS
        elif self.sound_of is not None:
            self._sound = SoundTrack.of(self.sound_of)
            if self._sound is not None:
                self._sound.attach(self._container)

    def close(self) -> Path:
        """Finish the file and move it to its final name."""
        if self._container is None:
            raise SaviourError(f"{self.path}: no frames to write")
        try:
            for packet in self._stream.encode():
                self._container.mux(packet)
            if self._sound is not None:
                self._sound.finish(self._container, self.frames / self.fps)
            self._container.close()
            self._tmp.replace(self.path)
        except BaseException:   # a full disk while flushing: no truncated file under either name
            self.abort()
            raise
        return self.path

    def abort(self) -> None:
        """Drop the partial file."""
        if self._sound is not None:
            self._sound.close()
        if self._container is not None:
            try:
                self._container.close()
            except (av.FFmpegError, OSError):
                pass
        self._tmp.unlink(missing_ok=True)
