"""The per-frame pipeline: detect on the clean frame, defend, detect again on the defended frame.

One `FrameResult` carries a frame through the stages and keeps what each found and how long it took.
Any detector works (engine.detection.protocol); one that rescans (the hunter's) scores again only the
windows a defence changed.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from engine.detection.detections import Detections, aim
from engine.detection.protocol import first_pass, found, second_pass
from engine.errors import SaviourError
from realtime.choices import DEFAULT_FRACTION
from realtime.pipeline.defences import NO_BOXES, defences_for


@dataclass
class FrameResult:
    """A frame and what the pipeline found: detections before and after the defence, timings in ms."""

    frame: np.ndarray
    before: Detections
    defended: np.ndarray
    after: Detections
    decoys: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    heatmap: np.ndarray | None = None      # the protected class's evidence on the defended frame, [0, 1]
    timings: dict = field(default_factory=dict)
    clean_scan: object = None              # the detector's pass over the clean frame, for reuse

    @property
    def aim_before(self):
        return aim(self.before)

    @property
    def aim_after(self):
        return aim(self.after)


class DefendedPipeline:
    """Detect, defend, detect again.

    Args:
        detector: any detector (engine.detection.protocol.Detector).
        defences: applied in turn to a copy of each frame, around the protected class's boxes
            (realtime.pipeline.defences); none leaves the frame alone.
        protect: the class the defences protect, one of the detector's labels.
        heatmap: a live heatmap (realtime.pipeline.heatmap.LiveHeatmap) of the defended frames, or None.
        name: what the defences are called in titles and summaries (a mode of the command line).
    """

    def __init__(self, detector, defences: Sequence = (), protect: str = "chicken", heatmap=None,
                 name: str | None = None):
        if defences and protect not in detector.labels:
            raise SaviourError(f"the detector has no class {protect!r} to protect "
                               f"(it has {', '.join(detector.labels)})")
        self.detector, self.defences, self.protect = detector, list(defences), protect
        self.heatmap = heatmap
        self.mode = name or ("+".join(type(d).__name__.lower() for d in self.defences) or "none")

    @property
    def frame_by_frame(self) -> bool:
        """Whether each frame's result depends on that frame alone, so a video's stretches may be run
        apart: not with the live heatmap (a running map) or a defence that carries state from frame to
        frame (PGD's warm start, the noise control's random draws)."""
        return self.heatmap is None and not any(getattr(d, "carries_state", False) for d in self.defences)

    def __call__(self, frame: np.ndarray, clean_scan=None) -> FrameResult:
        """Run the stages on one frame; `clean_scan`, the detector's pass over it, is reused when given."""
        return self.run([frame], None if clean_scan is None else [clean_scan])[0]

    def run(self, frames: list[np.ndarray], clean_scans: list | None = None) -> list[FrameResult]:
        """Run the stages on several same-sized frames: `detect_and_defend`, then the live heatmap."""
        return self.add_heatmaps(self.detect_and_defend(frames, clean_scans))

    def detect_and_defend(self, frames: list[np.ndarray], clean_scans: list | None = None) -> list[FrameResult]:
        """Detect, defend and detect again, the clean detection on all frames at once. Timings are per
        frame (the batch's time divided among its frames). Keeps no state, so several calls may run
        at once on different frames."""
        n, timings = len(frames), {}
        start = time.perf_counter()
        scans = first_pass(self.detector, frames) if clean_scans is None else clean_scans
        befores = [found(scan) for scan in scans]
        timings["detect"] = (time.perf_counter() - start) * 1000 / n
        start = time.perf_counter()
        defended = [self.defend(frame, before) for frame, before in zip(frames, befores)]
        timings["defend"] = (time.perf_counter() - start) * 1000 / n
        start = time.perf_counter()
        afters = befores if not self.defences else second_pass(self.detector, [image for image, _ in defended], scans)
        timings["detect_after"] = (time.perf_counter() - start) * 1000 / n
        return [FrameResult(frame, before, image, after, decoys, None, dict(timings), scan)
                for frame, before, (image, decoys), after, scan in zip(frames, befores, defended, afters, scans)]

    def add_heatmap(self, result: FrameResult) -> FrameResult:
        """In place, in frame order (the live heatmap accumulates over frames): the defended frame's
        heatmap, when this pipeline has one."""
        if self.heatmap is not None:
            start = time.perf_counter()
            result.heatmap = self.heatmap(result.defended, result.after)
            result.timings["heatmap"] = (time.perf_counter() - start) * 1000
        return result

    def add_heatmaps(self, results: list[FrameResult]) -> list[FrameResult]:
        return [self.add_heatmap(result) for result in results]

    def defend(self, frame: np.ndarray, detections: Detections) -> tuple[np.ndarray, np.ndarray]:
        """The defended copy of `frame` (the frame itself when there is no defence) and the decoys' boxes."""
        if not self.defences:
            return frame, NO_BOXES
        defended, decoys = frame.copy(), [NO_BOXES]
        protected = detections.of_class(self.protect).xyxy
        for defence in self.defences:
            decoys.append(defence.apply(defended, protected))
        return defended, np.concatenate(decoys)


def pipeline_for(detector, library, mode: str = "camouflage", fraction: float = DEFAULT_FRACTION,
                 decoys: np.ndarray | None = None, heatmap=None, attack_eps: float | None = None,
                 cube: bool = False, protect: str = "chicken") -> DefendedPipeline:
    """The pipeline of a mode of the command line (realtime.choices.MODES) with the library's blocks."""
    defences = defences_for(mode, library, detector, fraction, attack_eps, cube, decoys)
    return DefendedPipeline(detector, defences, protect, heatmap, name=mode)
