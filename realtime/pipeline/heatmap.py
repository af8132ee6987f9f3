"""The live heatmap: a streaming RISE map of a dense classifier's evidence for one class (the protected
one, "chicken") anywhere in the frame."""

from __future__ import annotations

import cv2
import numpy as np
import torch

from engine.detection.hunter import REFERENCE_HEIGHT, bgr_to_tensor
from engine.errors import SaviourError
from engine.explain import ColourRange, DenseClassEvidence, StreamingRise

HEAT_SCALE = 0.34     # the detector's middle pyramid level: chickens near the camera fill a window there


class LiveHeatmap:
    """Scores a few RISE masks per frame on a downscaled copy and keeps a running map.

    Args:
        classifier: a dense classifier such as the hunter: `dense_logits` and `labels`.
        label: the class whose evidence is mapped.
        scale: working resolution as a fraction of a frame up to 360 px high; a higher frame is worked
            at the size of its 360p version, as the detector scans it (see `auto_min_size`).
        per_frame, n, s: StreamingRise settings (masks per frame, bank size, grid).
        seed: the mask bank's seed, so runs are repeatable.
        colours: another heatmap's ColourRange to share (same colours for the same evidence), or None
            to follow this map's own range.
    """

    def __init__(self, classifier, scale: float = HEAT_SCALE, per_frame: int = 2, n: int = 128, s: int = 6,
                 seed: int = 0, colours: ColourRange | None = None, label: str = "chicken"):
        if not hasattr(classifier, "dense_logits") or label not in classifier.labels:
            raise SaviourError(f"the live heatmap needs a dense classifier with the class {label!r}")
        self.classifier, self.scale, self.label = classifier, scale, label
        self.follows = colours is None     # a shared range is followed by its owner only
        self.colours = colours or ColourRange()
        self.settings = {"per_frame": per_frame, "n": n, "s": s}
        self.seed, self.stream, self.size = seed, None, None
        self.device = next(classifier.parameters()).device

    def __call__(self, frame: np.ndarray, detections=None) -> np.ndarray:
        """Update with one BGR frame; return the map (working resolution, float32 in [0, 1]). The
        frame's detections are not needed: RISE asks the classifier itself."""
        h, w = frame.shape[:2]
        scale = self.scale * min(1.0, REFERENCE_HEIGHT / h)
        size = (max(25, round(h * scale)), max(25, round(w * scale)))
        if size != self.size:   # first frame, or the source changed size
            self.size = size
            if self.follows:
                self.colours.reset()
            self.stream = StreamingRise(self.classifier.dense_logits, size,
                                        DenseClassEvidence(self.classifier.labels.index(self.label)),
                                        colours=self.colours, follow_colours=self.follows,
                                        generator=torch.Generator().manual_seed(self.seed), device=self.device,
                                        **self.settings)
        small = cv2.resize(frame, size[::-1], interpolation=cv2.INTER_AREA)
        self.stream.update(bgr_to_tensor([small], self.device)[0])
        return self.stream.normalised().cpu().numpy()


class EvidenceHeatmap:
    """The live heatmap of a class-evidence detector (engine.detection.evidence): the protected class's
    probability at every position, as the detection pass over the defended frame computed it. It costs
    no pass of its own; streaming RISE would need many passes of a 1000-class network per frame."""

    def __init__(self, label: str = "chicken"):
        self.label = label

    def __call__(self, frame: np.ndarray, detections) -> np.ndarray:
        if detections is None or detections.evidence is None or self.label not in detections.labels:
            raise SaviourError(f"the evidence heatmap needs detections with {self.label!r} evidence "
                               "(a class-evidence detector)")
        return detections.evidence[detections.labels.index(self.label)].astype(np.float32)
