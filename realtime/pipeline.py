"""The per-frame pipeline: detect on the clean frame, defend, detect again on the defended frame.

One `FrameResult` carries a frame through the stages and keeps what each found and how long it took.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from blocks.library import BlockLibrary
from blocks.onthefly import fgsm_chickens
from blocks.paste import block_bgr, cover_boxes, paste_at, shuffled
from blocks.sweep import GREY
from engine.detect import HunterDetector, Scan, aim
from engine.detections import Detections
from engine.errors import SaviourError
from realtime.choices import DEFAULT_FRACTION, MODES

DECOY_MIN_SIDE, DECOY_MAX_SIDE = 0.12, 0.45   # automatic decoy side, as fractions of the frame height
DECOY_GROWTH = 1.6                              # automatic decoy side over the largest chicken's


@dataclass
class FrameResult:
    """A frame and what the pipeline found: detections before and after the defence, timings in ms."""

    frame: np.ndarray
    before: Detections
    defended: np.ndarray
    after: Detections
    decoys: np.ndarray = field(default_factory=lambda: np.zeros((0, 4)))
    heatmap: np.ndarray | None = None      # the hunter's chicken evidence on the defended frame, [0, 1]
    timings: dict = field(default_factory=dict)
    clean_scan: Scan | None = None         # the detector's pass over the clean frame, for reuse

    @property
    def aim_before(self):
        return aim(self.before)

    @property
    def aim_after(self):
        return aim(self.after)


class DefendedPipeline:
    """Detect, defend with blocks, detect again.

    Args:
        detector: the hunter's detector.
        library: the blocks to use (camouflage and ghost-chicken blocks are taken from it).
        mode: one of MODES; "control" pastes the camouflage block with its pixels shuffled, "occlusion" a
            plain grey square of the same size (the block optimiser's start); "fgsm" steps each
            chicken's window toward terrain on the fly (no block).
        fraction: camouflage block side as a fraction of the chicken box's larger side.
        decoys: decoy boxes (N x 4, frame pixels); None places two on the lower half of the frame, each
            larger than the largest chicken in view (see `decoy_boxes`).
        heatmap: a live heatmap (realtime.heatmap.HunterHeatmap) of the defended frames, or None.
        fgsm_eps: the on-the-fly step's pixel budget in [0, 1] (mode "fgsm").
        cube: draw blocks as small 3D cubes instead of flat squares.
    """

    def __init__(self, detector: HunterDetector, library: BlockLibrary, mode: str = "camouflage",
                 fraction: float = DEFAULT_FRACTION, decoys: np.ndarray | None = None, camouflage_target: str = "terrain",
                 heatmap=None, fgsm_eps: float = 32 / 255, cube: bool = False):
        if mode not in MODES:
            raise SaviourError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
        if not 0 < fraction <= 2:
            raise SaviourError(f"block fraction must be in (0, 2], got {fraction}")
        self.detector, self.mode, self.fraction, self.decoys = detector, mode, fraction, decoys
        self.heatmap = heatmap
        if not 0 < fgsm_eps <= 1:
            raise SaviourError(f"the on-the-fly FGSM budget must be in (0, 1], got {fgsm_eps}")
        self.fgsm_eps, self.cube = fgsm_eps, cube
        camouflage = [b for b in library.of_purpose("camouflage") if b.target == camouflage_target]
        ghosts = library.of_purpose("ghost-chicken")
        missing = ([(f"camouflage block for {camouflage_target}", f"camouflage --target {camouflage_target}")]
                   if not camouflage else []) + ([("ghost-chicken block", "ghost-chicken")] if not ghosts else [])
        if missing:
            raise SaviourError(f"the block library has no {' and no '.join(what for what, _ in missing)}; "
                               f"add {'it' if len(missing) == 1 else 'them'} with "
                               + " and ".join(f"`saviour blocks generate --purpose {how} --out LIBRARY`"
                                              for _, how in missing))
        self.camouflage = block_bgr(camouflage[0].pixels)
        self.control = shuffled(self.camouflage)
        self.occlusion = np.full_like(self.camouflage, round(GREY * 255))
        self.ghost = block_bgr(ghosts[0].pixels)

    def decoy_boxes(self, shape, chickens: np.ndarray | None = None) -> np.ndarray:
        """The decoys' boxes: the configured ones, or two squares on the lower half of the frame.

        A hunter that sees several sure chickens shoots the nearest, the largest in view, so automatic
        decoys are made DECOY_GROWTH times the largest detected chicken's side (at least
        DECOY_MIN_SIDE of the frame height, at most the detector's largest animal size).
        """
        if self.decoys is not None:
            return np.asarray(self.decoys, float).reshape(-1, 4)
        h, w = shape[:2]
        largest = 0.0 if chickens is None or not len(chickens) else (chickens[:, 2:] - chickens[:, :2]).max()
        side = min(max(DECOY_MIN_SIDE * h, DECOY_GROWTH * largest), DECOY_MAX_SIDE * h)
        centres = np.array([[0.25 * w, 0.72 * h], [0.75 * w, 0.62 * h]])
        return np.concatenate([centres - side / 2, centres + side / 2], 1)

    def __call__(self, frame: np.ndarray, clean_scan: Scan | None = None) -> FrameResult:
        """Run the stages on one frame; `clean_scan`, the detector's pass over it, is reused when given."""
        return self.run([frame], None if clean_scan is None else [clean_scan])[0]

    def run(self, frames: list[np.ndarray], clean_scans: list[Scan] | None = None) -> list[FrameResult]:
        """Run the stages on several same-sized frames: `detect_and_defend`, then the live heatmap."""
        return self.add_heatmaps(self.detect_and_defend(frames, clean_scans))

    def detect_and_defend(self, frames: list[np.ndarray], clean_scans: list[Scan] | None = None) -> list[FrameResult]:
        """Detect, defend and detect again, the clean detection on all frames at once. The defended
        frames are rescanned: only windows that the defence changed go through the network again.
        Timings are per frame (the batch's time divided among its frames). Keeps no state, so
        several calls may run at once on different frames."""
        n = len(frames)
        timings = {}
        start = time.perf_counter()
        scans = self.detector.scan(frames) if clean_scans is None else clean_scans
        befores = [scan.detections for scan in scans]
        timings["detect"] = (time.perf_counter() - start) * 1000 / n
        start = time.perf_counter()
        defended = [self.defend(frame, before) for frame, before in zip(frames, befores)]
        timings["defend"] = (time.perf_counter() - start) * 1000 / n
        start = time.perf_counter()
        if self.mode == "none":
            afters = befores
        else:
            afters = [scan.detections for scan in self.detector.rescan([image for image, _ in defended], scans)]
        timings["detect_after"] = (time.perf_counter() - start) * 1000 / n
        return [FrameResult(frame, before, image, after, decoys, None, dict(timings), scan)
                for frame, before, (image, decoys), after, scan in zip(frames, befores, defended, afters, scans)]

    def add_heatmaps(self, results: list[FrameResult]) -> list[FrameResult]:
        """In place and in frame order (the live heatmap accumulates over frames): each defended
        frame's heatmap, when this pipeline has one."""
        if self.heatmap is not None:
            for result in results:
                start = time.perf_counter()
                result.heatmap = self.heatmap(result.defended)
                result.timings["heatmap"] = (time.perf_counter() - start) * 1000
        return results

    def defend(self, frame: np.ndarray, detections: Detections) -> tuple[np.ndarray, np.ndarray]:
        if self.mode == "none":
            return frame, np.zeros((0, 4))
        defended = frame.copy()
        chickens = detections.of_class("chicken").xyxy
        if self.mode in ("camouflage", "camouflage+decoys"):
            cover_boxes(defended, self.camouflage, chickens, self.fraction, self.cube)
        elif self.mode in ("control", "occlusion"):
            cover_boxes(defended, getattr(self, self.mode), chickens, self.fraction, self.cube)
        elif self.mode == "fgsm":
            fgsm_chickens(self.detector, defended, chickens, self.fgsm_eps)
        decoys = self.decoy_boxes(frame.shape, chickens) if "decoys" in self.mode else np.zeros((0, 4))
        if len(decoys):
            paste_at(defended, self.ghost, (decoys[:, :2] + decoys[:, 2:]) / 2, decoys[:, 2] - decoys[:, 0], self.cube)
        return defended, decoys
