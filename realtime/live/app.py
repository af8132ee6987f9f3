"""`saviour live`: the defended view of a live source in a window, with a HUD and keys.

Keys: q or Esc (or the window's close button) quit, b blocks on/off, d decoys on/off, h heatmap on/off,
v cycle the view (side by side, after, before), space pause, s snapshot PNG, r start/stop recording
(MP4 and GIF), ? help overlay.
"""

from __future__ import annotations

import time
from pathlib import Path

import cv2
import numpy as np

from engine.errors import SaviourError, warn
from realtime.choices import DEFAULT_FRACTION
from realtime.io.sinks import CameraSink
from realtime.io.video import prepare_output
from realtime.live.keys import VIEWS, LiveState, draw_help, handle_key
from realtime.live.recorder import Recorder
from realtime.live.window import Window, enlarged, window_closed
from realtime.pipeline.defended import DefendedPipeline, FrameResult, pipeline_for
from realtime.commands.setup import live_heatmap
from realtime.pipeline.memory import HeapTrimmer
from realtime.pipeline.overlay import after_panel, before_panel, defended_frame, put_label
from realtime.pipeline.runner import run


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
        self.source, self.workers = source, workers
        self.pace = pace
        # the defended frames, without the hunter's overlay, to a realtime.io.virtualcam.VirtualCamera
        self.camera = CameraSink(virtual_camera, defended_frame) if virtual_camera is not None else None
        self.device_name, self.window = device_name, window
        self.screen: Window | None = None
        self.out_dir, self.state = Path(out_dir), state or LiveState()
        self.heat = live_heatmap(detector)
        # every mode the keys reach, made now: a library without their blocks fails before any frame
        self.pipelines = {mode: pipeline_for(detector, library, mode, fraction) for mode in self.state.modes()}
        self.recorder: Recorder | None = None
        self.fps, self.latency_ms, self.frames, self.snapshots = 0.0, 0.0, 0, 0
        self.last_shown: float | None = None
        self.trimmer = HeapTrimmer()
        self.saved: list[Path] = []

    def pipeline(self) -> DefendedPipeline:
        """The pipeline of the current mode (without heatmap: the app adds it in frame order)."""
        return self.pipelines[self.state.mode]

    def run(self, max_frames: int | None = None, record: str | None = None) -> None:
        if self.window:
            try:
                self.screen = Window()
            except SaviourError:
                self.source.close()
                raise
        if record:
            self.recorder = Recorder(Path(record), self.source.fps, clock=self.source.live)
        try:
            run(self.source, self._detect_and_defend, [lambda item: self._show_next(item, max_frames)], self.workers)
        finally:
            self.source.close()
            if self.camera is not None:
                self.camera.close()
            if self.recorder is not None:
                self.saved += self.recorder.close()
            if self.screen is not None:
                self.screen.close()

    def _detect_and_defend(self, frames: list[np.ndarray]) -> list[tuple[FrameResult, float]]:
        """The runner's work on a worker thread: each result, with when its work began (for the latency)."""
        started = time.perf_counter()
        return [(result, started) for result in self.pipeline().detect_and_defend(frames)]

    def _show_next(self, item: tuple[FrameResult, float], max_frames: int | None) -> bool:
        """Show the next frame in order and handle keys; False when the run should end."""
        shown = self.show(*item)
        while self.window and not self.state.quit:
            self._keys(cv2.waitKey(1 if not self.state.paused else 30), shown)
            self.state.quit |= window_closed()
            if not self.state.paused:
                break
        return not self.state.quit and (max_frames is None or self.frames < max_frames)

    def step(self, frame: np.ndarray) -> np.ndarray:
        """One frame through the pipeline and onto the screen, on this thread."""
        return self.show(*self._detect_and_defend([frame])[0])

    def show(self, result: FrameResult, submitted: float) -> np.ndarray:
        """Add the heatmap, draw, show and record one processed frame; `submitted` is when it entered."""
        if self.state.heatmap:
            start = time.perf_counter()
            result.heatmap = self.heat(result.defended, result.after)
            result.timings["heatmap"] = (time.perf_counter() - start) * 1000
        shown = enlarged(self.compose(result))
        self.latency_ms = (time.perf_counter() - submitted) * 1000
        self._wait_for_due_time()
        now = time.perf_counter()
        interval = now - self.last_shown if self.last_shown is not None else self.latency_ms / 1000
        self.fps = 1 / interval if self.frames == 0 else 0.9 * self.fps + 0.1 / interval
        self.last_shown = now
        self.draw_hud(shown, result)
        if self.screen is not None:
            self.screen.write(shown)
        if self.recorder is not None:
            self.recorder.write(shown)
        if self.camera is not None:
            self.camera.write(result)
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


def playback_pace(source, window: bool, fast: bool) -> float | None:
    """The frame rate to show a run at: a video's (also one served over HTTP), images' or the farm
    world's own in a window, so they play at their speed; None (as fast as it goes) headless, with
    `fast`, or for a camera, a live stream or the screen, which deliver in real time already."""
    return None if not window or fast or source.live else source.fps
