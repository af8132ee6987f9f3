"""`saviour live`: the defended view of a live source in a window, with a HUD and keys.

Keys: q or Esc (or the window's close button) quit, b blocks on/off, d decoys on/off, h heatmap on/off,
v cycle the view (side by side, after, before), space pause, s snapshot PNG, r start/stop recording
(MP4 and GIF), ? help overlay.
"""

from __future__ import annotations

import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from engine.errors import SaviourError, warn
from realtime.choices import DEFAULT_FRACTION
from realtime.io.gif import fit_width, write_gif
from realtime.pipeline.heatmap import HunterHeatmap
from realtime.pipeline.memory import HeapTrimmer
from realtime.pipeline.overlay import WHITE, YELLOW, after_panel, before_panel, defended_frame, put_label
from realtime.pipeline.defended import DefendedPipeline, FrameResult, pipeline_for
from realtime.io.video import Mp4Writer, letterboxed, prepare_output
from realtime.pipeline.workers import InOrder, threads_per_worker

WINDOW = "saviour live"
VIEWS = ("side by side", "after", "before")
KEY_HELP = (("q / Esc", "quit"), ("b", "blocks on/off"), ("d", "decoys on/off"), ("h", "heatmap on/off"),
            ("v", "cycle view"), ("space", "pause"), ("s", "snapshot PNG"), ("r", "record MP4 + GIF"),
            ("?", "this help"))
ESC = 27
MIN_VIEW_HEIGHT = 360   # the HUD's three lines and the key help fit from here
GIF_WIDTH, GIF_SECONDS = 480, 30


@dataclass
class LiveState:
    """What the keys switch."""

    blocks: bool = True
    decoys: bool = False
    heatmap: bool = False
    view: int = 0
    paused: bool = False
    help: bool = False
    quit: bool = False

    @property
    def mode(self) -> str:
        return {(True, True): "camouflage+decoys", (True, False): "camouflage",
                (False, True): "decoys", (False, False): "none"}[(self.blocks, self.decoys)]


def check_display() -> None:
    """Raise SaviourError when a window cannot open on this Linux session: without an X display,
    OpenCV's Qt window aborts the whole process instead of raising."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise SaviourError("no display to open a window on (DISPLAY is not set): add --no-window, or set DISPLAY")


def open_window() -> None:
    check_display()
    _use_system_fonts()
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE)
    except cv2.error:   # a headless OpenCV build has no windows at all
        raise SaviourError("this OpenCV build cannot open windows (opencv-python-headless?): add --no-window") from None


def _use_system_fonts() -> None:
    """opencv-python points Qt at a font folder its wheel no longer ships, and Qt then prints ten lines
    of warnings as the window opens; a system font folder, where there is one, keeps it quiet."""
    bundled = os.environ.get("QT_QPA_FONTDIR")
    if bundled and not os.path.isdir(bundled):
        system = next((f for f in ("/usr/share/fonts", "/usr/local/share/fonts") if os.path.isdir(f)), None)
        if system:
            os.environ["QT_QPA_FONTDIR"] = system


def window_closed() -> bool:
    """True once the user has closed the window (its close button), which then counts as quit."""
    try:
        return cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1
    except cv2.error:   # the window is gone altogether
        return True


def handle_key(state: LiveState, key: int) -> str | None:
    """Apply one key press to `state`; returns "snapshot" or "record" for the actions the loop performs."""
    char = chr(key) if 0 <= key < 256 else ""
    if key == ESC or char == "q":
        state.quit = True
    elif char == "b":
        state.blocks = not state.blocks
    elif char == "d":
        state.decoys = not state.decoys
    elif char == "h":
        state.heatmap = not state.heatmap
    elif char == "v":
        state.view = (state.view + 1) % len(VIEWS)
    elif char == " ":
        state.paused = not state.paused
    elif char == "?":
        state.help = not state.help
    elif char == "s":
        return "snapshot"
    elif char == "r":
        return "record"
    return None


def enlarged(view: np.ndarray, min_height: int = MIN_VIEW_HEIGHT) -> np.ndarray:
    """A view from a small source (a 200x120 screen region) scaled up by a whole factor, in blocky
    pixels, so that the HUD and the key help drawn on it afterwards fit and read."""
    factor = -(-min_height // view.shape[0])
    if factor <= 1:
        return view
    return cv2.resize(view, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)


class Recorder:
    """MP4 and GIF of the shown frames between two presses of r (or for the whole run with --record).

    The GIF (about 10 fps, 480 px wide) holds the recording's first GIF_SECONDS: its frames wait in
    memory until it is written, and a GIF of a long run would be hundreds of MB anyway.

    With `clock` (a camera, stream or screen) frames keep the times they were shown at, so the
    recording plays in real time whatever rate the pipeline reached; otherwise they are the source's
    frames at its own rate (a video, images, the farm world).
    """

    def __init__(self, path: Path, fps: float, clock: bool = False):
        self.path, self.fps = Path(path), fps
        self.video = Mp4Writer(self.path, fps=fps)
        self.gif_frames, self.every = [], max(1, round(fps / 10))
        self.clock, self.started, self.seconds = clock, None, 0.0
        self.size: tuple[int, int] | None = None   # every frame is fitted into the first one's size

    def write(self, frame: np.ndarray) -> None:
        if self.size is None:
            self.size = frame.shape[:2]
        frame = letterboxed(frame, self.size)   # the view changed (key v) or the camera's size did
        if self.clock:
            now = time.perf_counter()
            if self.started is None:
                self.started = now
            self.seconds = now - self.started
        self.video.write(frame, self.seconds if self.clock else None)
        at = self.seconds if self.clock else (self.video.frames - 1) / self.fps
        if (self.video.frames - 1) % self.every == 0 and at < GIF_SECONDS:
            self.gif_frames.append(fit_width(frame, GIF_WIDTH))

    def close(self) -> list[Path]:
        if not self.video.frames:
            self.video.abort()
            return []
        paths = [self.video.close()]
        shown_fps = (self.video.frames - 1) / self.seconds if self.clock and self.seconds > 0 else self.fps
        paths.append(write_gif(self.gif_frames, self.path.with_suffix(".gif"), fps=shown_fps / self.every))
        return paths


class LiveApp:
    """Runs a source through the pipeline; draws, shows, records. One instance per run.

    `workers` frames are detected and defended at once on worker threads (two raise the frame rate
    of a 2-core CPU by about a third, for about one frame of extra latency); the heatmap, drawing,
    window and recording follow in frame order on the calling thread. With `pace`, frames are shown
    at most that many per second, so a video file or the farm world plays at its own speed.
    """

    def __init__(self, detector, library, source, device_name: str, fraction: float = DEFAULT_FRACTION, window: bool = True,
                 out_dir: str | Path = "out/live", state: LiveState | None = None, workers: int = 2,
                 virtual_camera=None, pace: float | None = None):
        self.detector, self.library, self.source, self.workers = detector, library, source, workers
        self.pace = pace
        self.virtual_camera = virtual_camera   # a realtime.io.virtualcam.VirtualCamera, or None
        self.device_name, self.fraction, self.window = device_name, fraction, window
        self.out_dir, self.state = Path(out_dir), state or LiveState()
        self.heat = HunterHeatmap(detector.classifier)
        self.pipelines: dict[str, DefendedPipeline] = {}
        self.recorder: Recorder | None = None
        self.fps, self.latency_ms, self.frames, self.snapshots = 0.0, 0.0, 0, 0
        self.last_shown: float | None = None
        self.trimmer = HeapTrimmer()
        self.saved: list[Path] = []
        self.pipeline()   # a library without the blocks the pipeline needs fails here, before any frame

    def pipeline(self) -> DefendedPipeline:
        """The pipeline of the current mode (without heatmap: the app adds it in frame order)."""
        mode = self.state.mode
        if mode not in self.pipelines:
            self.pipelines[mode] = pipeline_for(self.detector, self.library, mode, self.fraction)
        return self.pipelines[mode]

    def run(self, max_frames: int | None = None, record: str | None = None) -> None:
        if self.window:
            try:
                open_window()
            except SaviourError:
                self.source.close()
                raise
        if record:
            self.recorder = Recorder(Path(record), self.source.fps, clock=self.source.live)
        try:
            with InOrder(_detect_and_defend, self.workers) as work, threads_per_worker(self.workers):
                for frame in self.source:
                    work.submit(self.pipeline(), frame, time.perf_counter())
                    if work.full and not self._show_next(work, max_frames):
                        break
                else:   # the source ended: show what is still in flight
                    while work.pending and self._show_next(work, max_frames):
                        pass
        finally:
            self.source.close()
            if self.virtual_camera is not None:
                self.virtual_camera.close()
            if self.recorder is not None:
                self.saved += self.recorder.close()
            if self.window and not window_closed():   # closed by its close button, it is already gone
                cv2.destroyWindow(WINDOW)

    def _show_next(self, work: InOrder, max_frames: int | None) -> bool:
        """Show the oldest frame in flight and handle keys; False when the run should end."""
        shown = self.show(*work.next())
        while self.window and not self.state.quit:
            self._keys(cv2.waitKey(1 if not self.state.paused else 30), shown)
            self.state.quit |= window_closed()
            if not self.state.paused:
                break
        return not self.state.quit and (max_frames is None or self.frames < max_frames)

    def step(self, frame: np.ndarray) -> np.ndarray:
        """One frame through the pipeline and onto the screen, on this thread."""
        return self.show(*_detect_and_defend(self.pipeline(), frame, time.perf_counter()))

    def show(self, result: FrameResult, submitted: float) -> np.ndarray:
        """Add the heatmap, draw, show and record one processed frame; `submitted` is when it entered."""
        if self.state.heatmap:
            start = time.perf_counter()
            result.heatmap = self.heat(result.defended)
            result.timings["heatmap"] = (time.perf_counter() - start) * 1000
        shown = enlarged(self.compose(result))
        self.latency_ms = (time.perf_counter() - submitted) * 1000
        self._wait_for_due_time()
        now = time.perf_counter()
        interval = now - self.last_shown if self.last_shown is not None else self.latency_ms / 1000
        self.fps = 1 / interval if self.frames == 0 else 0.9 * self.fps + 0.1 / interval
        self.last_shown = now
        self.draw_hud(shown, result)
        if self.window:
            cv2.imshow(WINDOW, shown)
        if self.recorder is not None:
            self.recorder.write(shown)
        if self.virtual_camera is not None:
            self.virtual_camera.send(defended_frame(result))
        self.frames += 1
        self.trimmer.tick()
        return shown

    def _wait_for_due_time(self) -> None:
        """With `pace`, wait until one frame interval after the previous frame was shown. A late frame
        is shown at once and starts the next interval, so a slow stretch or a pause is not caught up."""
        if self.pace and self.last_shown is not None:
            delay = self.last_shown + 1 / self.pace - time.perf_counter()
            if delay > 0:
                time.sleep(delay)

    def compose(self, result: FrameResult) -> np.ndarray:
        after = after_panel(result, self.state.mode)
        view = VIEWS[self.state.view]
        if view == "after":
            return after
        before = before_panel(result)
        return before if view == "before" else np.concatenate([before, after], axis=1)

    def draw_hud(self, shown: np.ndarray, result: FrameResult) -> None:
        detections = result.after if VIEWS[self.state.view] != "before" else result.before
        best = int(np.argmax(detections.score)) if len(detections) else None
        seen = f"{detections.names[best]} {detections.score[best]:.2f}" if best is not None else "nothing"
        lines = [f"{self.fps:5.1f} FPS  {self.latency_ms:5.1f} ms  {self.device_name}",
                 f"mode {self.state.mode}{'  heatmap' if self.state.heatmap else ''}  view {VIEWS[self.state.view]}",
                 f"dropped {self.source.dropped}  hunter sees {seen}"
                 + ("  REC" if self.recorder is not None else "") + ("  PAUSED" if self.state.paused else "")]
        for i, text in enumerate(lines):
            put_label(shown, text, (8, shown.shape[0] - 10 - 16 * (len(lines) - 1 - i)), (255, 255, 255), 0.45)
        if self.state.help:
            draw_help(shown)

    def _keys(self, key: int, shown: np.ndarray) -> None:
        if key < 0:
            return
        action = handle_key(self.state, key & 0xFF)
        try:
            if action == "snapshot":
                self._snapshot(shown)
            elif action == "record" and self.recorder is None:
                stamp = time.strftime("%Y%m%d-%H%M%S")
                self.recorder = Recorder(self.out_dir / f"recording-{stamp}.mp4", self.source.fps, self.source.live)
            elif action == "record":
                recorder, self.recorder = self.recorder, None
                self.saved += recorder.close()
        except (OSError, SaviourError) as error:   # a key should not end the run: say so and go on
            warn(str(error))

    def _snapshot(self, shown: np.ndarray) -> None:
        path = prepare_output(self.out_dir / f"snapshot-{self.snapshots + 1:03d}.png", ".png")
        if not cv2.imwrite(str(path), shown):
            raise SaviourError(f"{path}: could not write the snapshot")
        self.snapshots += 1
        self.saved.append(path)


def draw_help(shown: np.ndarray) -> None:
    """The key list in two columns on a darkened box at the top centre, readable over any scene."""
    left, top, line = shown.shape[1] // 2 - 100, 48, 18   # below the panel titles
    bottom = min(shown.shape[0], top + line * len(KEY_HELP) + 6)
    box = shown[top - 14:bottom, max(0, left - 10):left + 190]
    box[:] = box // 4
    for i, (key, action) in enumerate(KEY_HELP):
        y = top + 4 + line * i
        put_label(shown, key, (left, y), YELLOW, 0.5)
        put_label(shown, action, (left + 70, y), WHITE, 0.5)


def playback_pace(source, window: bool, fast: bool) -> float | None:
    """The frame rate to show a run at: a video's (also one served over HTTP), images' or the farm
    world's own in a window, so they play at their speed; None (as fast as it goes) headless, with
    `fast`, or for a camera, a live stream or the screen, which deliver in real time already."""
    return None if not window or fast or source.live else source.fps


def _detect_and_defend(pipeline: DefendedPipeline, frame: np.ndarray, submitted: float) -> tuple[FrameResult, float]:
    return pipeline.detect_and_defend([frame])[0], submitted
