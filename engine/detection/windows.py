"""A detector made of any image classifier: it classifies square windows of the frame one by one.

Slower than a dense detector (every window is a forward pass of its own), but it needs nothing of
the classifier beyond `labels` and a forward pass on N x 3 x S x S RGB in [0, 1] (S its
`input_size`). It reports the application's names: `names` maps the classifier's classes onto them
(an ImageNet model's "hen" and "cock" are both "chicken", their probabilities summed), and classes
in `background` are never reported.
"""

from __future__ import annotations

import cv2
import numpy as np
import torch

from engine.detection.detections import Detections
from engine.detection.grouping import cluster
from engine.detection.hunter import bgr_to_tensor
from engine.errors import SaviourError


class WindowDetector:
    """Windows of `window` px every `stride` px, resized to the classifier's input; a window whose
    best reported class is above `threshold` is a box of that class, and overlapping boxes of one
    class are one object."""

    def __init__(self, classifier, window: int, stride: int, threshold: float = 0.9,
                 names: dict[str, str] | None = None, background: tuple[str, ...] = ()):
        if window < 1 or stride < 1:
            raise SaviourError(f"window and stride must be at least 1 px, got {window} and {stride}")
        if not 0 < threshold < 1:
            raise SaviourError(f"threshold must be in (0, 1), got {threshold}")
        names = names or {}
        unknown = sorted((set(names) | set(background)) - set(classifier.labels))
        if unknown:
            raise SaviourError(f"the classifier has no class {', '.join(map(repr, unknown))} "
                               f"(it has {', '.join(classifier.labels)})")
        reported = [names.get(label, label) for label in classifier.labels if label not in background]
        self.labels = tuple(dict.fromkeys(reported))
        # classifier class -> reported class, or -1 for background: probabilities are summed per name
        self._merge = torch.tensor([-1 if label in background else self.labels.index(names.get(label, label))
                                    for label in classifier.labels])
        self.classifier, self.window, self.stride, self.threshold = classifier, window, stride, threshold
        self.size = classifier.input_size
        self.device = next(classifier.parameters()).device

    def __call__(self, frames: list[np.ndarray]) -> list[Detections]:
        return [self._detect(frame) for frame in frames]

    @torch.inference_mode()
    def _detect(self, frame: np.ndarray) -> Detections:
        corners = self._corners(frame.shape)
        if not len(corners):
            return Detections.empty(self.labels)
        crops = [cv2.resize(frame[y:y + self.window, x:x + self.window], (self.size, self.size),
                            interpolation=cv2.INTER_AREA) for x, y in corners]
        probabilities = self.classifier(bgr_to_tensor(crops, self.device)).softmax(1).cpu()
        merged = torch.zeros(len(crops), len(self.labels))
        kept = self._merge >= 0
        merged.index_add_(1, self._merge[kept], probabilities[:, kept])
        score, class_id = merged.max(1)
        found = (score > self.threshold).numpy()
        if not found.any():
            return Detections.empty(self.labels)
        boxes = np.concatenate([corners, corners + self.window], 1).astype(float)[found]
        xyxy, best, classes = cluster(boxes, score.numpy()[found], class_id.numpy()[found])
        return Detections(xyxy.astype(np.float32), classes, best, self.labels)

    def _corners(self, shape) -> np.ndarray:
        """Top-left corners (x, y) of every window that fits in a frame of `shape`."""
        height, width = shape[:2]
        if min(height, width) < self.window:
            return np.zeros((0, 2), np.int64)
        ys, xs = np.mgrid[0:height - self.window + 1:self.stride, 0:width - self.window + 1:self.stride]
        return np.stack([xs.ravel(), ys.ravel()], 1)
