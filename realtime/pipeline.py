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
from engine.detect import HunterDetector, aim
from engine.detections import Detections
from engine.errors import SaviourError

MODES = ("none", "camouflage", "control", "decoys", "camouflage+decoys", "fgsm")


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
        mode: one of MODES; "control" pastes the camouflage block with its pixels shuffled; "fgsm" steps
            each chicken's window toward terrain on the fly (no block).
        fraction: camouflage block side as a fraction of the chicken box's larger side.
        decoys: decoy boxes (N x 4, frame pixels); None places two on the lower half of the frame.
        heatmap: a live heatmap (realtime.heatmap.HunterHeatmap) of the defended frames, or None.
        fgsm_eps: the on-the-fly step's pixel budget in [0, 1] (mode "fgsm").
        cube: draw blocks as small 3D cubes instead of flat squares.
    """

    def __init__(self, detector: HunterDetector, library: BlockLibrary, mode: str = "camouflage",
                 fraction: float = 0.8, decoys: np.ndarray | None = None, camouflage_target: str = "terrain",
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
        if not camouflage or not ghosts:
            raise SaviourError(f"the block library needs a camouflage-{camouflage_target} and a ghost-chicken block")
        self.camouflage = block_bgr(camouflage[0].pixels)
        self.control = shuffled(self.camouflage)
        self.ghost = block_bgr(ghosts[0].pixels)

    def decoy_boxes(self, shape) -> np.ndarray:
        if self.decoys is not None:
            return np.asarray(self.decoys, float).reshape(-1, 4)
        h, w = shape[:2]
        side = 0.12 * h
        centres = np.array([[0.25 * w, 0.72 * h], [0.75 * w, 0.62 * h]])
        return np.concatenate([centres - side / 2, centres + side / 2], 1)

    def __call__(self, frame: np.ndarray, before: Detections | None = None) -> FrameResult:
        """Run the stages on one frame; `before`, the clean frame's detections, is reused when given."""
        return self.run([frame], None if before is None else [before])[0]

    def run(self, frames: list[np.ndarray], befores: list[Detections] | None = None) -> list[FrameResult]:
        """Run the stages on several same-sized frames, each detection pass on all of them at once.
        Timings are per frame (the batch's time divided among its frames)."""
        n = len(frames)
        timings = {}
        start = time.perf_counter()
        befores = self.detector(frames) if befores is None else befores
        timings["detect"] = (time.perf_counter() - start) * 1000 / n
        start = time.perf_counter()
        defended = [self.defend(frame, before) for frame, before in zip(frames, befores)]
        timings["defend"] = (time.perf_counter() - start) * 1000 / n
        start = time.perf_counter()
        afters = self.detector([image for image, _ in defended]) if self.mode != "none" else befores
        timings["detect_after"] = (time.perf_counter() - start) * 1000 / n
        results = []
        for frame, before, (image, decoys), after in zip(frames, befores, defended, afters):
            own = dict(timings)
            heat = None
            if self.heatmap is not None:
                start = time.perf_counter()
                heat = self.heatmap(image)
                own["heatmap"] = (time.perf_counter() - start) * 1000
            results.append(FrameResult(frame, before, image, after, decoys, heat, own))
        return results

    def defend(self, frame: np.ndarray, detections: Detections) -> tuple[np.ndarray, np.ndarray]:
        if self.mode == "none":
            return frame, np.zeros((0, 4))
        defended = frame.copy()
        chickens = detections.of_class("chicken").xyxy
        if self.mode in ("camouflage", "camouflage+decoys"):
            cover_boxes(defended, self.camouflage, chickens, self.fraction, self.cube)
        elif self.mode == "control":
            cover_boxes(defended, self.control, chickens, self.fraction, self.cube)
        elif self.mode == "fgsm":
            fgsm_chickens(self.detector, defended, chickens, self.fgsm_eps)
        decoys = self.decoy_boxes(frame.shape) if "decoys" in self.mode else np.zeros((0, 4))
        if len(decoys):
            paste_at(defended, self.ghost, (decoys[:, :2] + decoys[:, 2:]) / 2, decoys[:, 2] - decoys[:, 0], self.cube)
        return defended, decoys
