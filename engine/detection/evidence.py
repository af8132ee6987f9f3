"""Real-world detection from an ImageNet classifier's class-evidence map (class activation mapping).

An ImageNet network that ends in global average pooling and a linear layer is convolutional up to
its head: the head at every position of its last feature map gives that position's class logits
(`ImageNetClassifier.evidence`), in one pass over the whole frame. Per position, the softmax over
the 1000 classes gives each application class's probability (chicken = hen + cock, ...); positions
above the threshold, grouped as 8-connected regions, are the detections, each the box of its cells.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import torch

from engine.detection.detections import Detections
from engine.detection.hunter import bgr_to_tensor
from engine.errors import SaviourError

# The application's classes as ImageNet-1k classes (7 cock, 8 hen, 341 hog, 342 wild boar, 343 warthog,
# 388 giant panda): a wild boar or a warthog is as much the hunter's pig as a farm hog.
CLASS_MAP = {"chicken": ("hen", "cock"), "pig": ("hog", "wild boar", "warthog"), "panda": ("giant panda",)}
SHORT_SIDE = 224     # the frame's short side as the network sees it: ImageNet's object scale for a full frame
TOP_CLASSES = 3      # the whole frame's most likely classes the detections carry (the HUD shows them)


@dataclass(frozen=True)
class EvidenceScan:
    """One frame as the detector saw it: per application class its probability at every position
    (classes x h x w), the whole frame's probabilities over the model's classes, and the detections."""

    maps: np.ndarray
    frame_probabilities: np.ndarray
    detections: Detections


class EvidenceDetector:
    """Finds the application's animals with an ImageNet classifier's class-evidence map.

    Args:
        classifier: an `ImageNetClassifier` with `evidence` (global average pooling, then a linear head).
        classes: application class -> the classifier's class names that count as it (default CLASS_MAP).
        short_side: the frame is resized to this short side before the network sees it.
        threshold: a position counts as a class when its probability exceeds this, in (0, 1).
    """

    def __init__(self, classifier, classes: dict | None = None, short_side: int = SHORT_SIDE, threshold: float = 0.5):
        if not getattr(classifier, "has_evidence", False):
            raise SaviourError(f"{type(classifier).__name__}: class-evidence detection needs a network ending in "
                               "global average pooling and a linear layer (EfficientNet, ResNet, ...)")
        if not 0 < threshold < 1:
            raise SaviourError(f"threshold must be in (0, 1), got {threshold}")
        if short_side < 32:
            raise SaviourError(f"short_side must be at least 32 pixels, got {short_side}")
        classes = CLASS_MAP if classes is None else classes
        missing = [name for names in classes.values() for name in names if name not in classifier.labels]
        if missing:
            raise SaviourError(f"the classifier has no class {missing[0]!r} (mapping {', '.join(classes)})")
        self.classifier, self.short_side, self.threshold = classifier, short_side, threshold
        self.labels = tuple(classes)
        self.members = [[classifier.labels.index(name) for name in names] for names in classes.values()]
        self.device = next(classifier.parameters()).device

    def __call__(self, frames):
        """Detections in one BGR uint8 frame, or a list of Detections for a list of same-sized frames."""
        single = isinstance(frames, np.ndarray) and frames.ndim == 3
        found = [scan.detections for scan in self.scan([frames] if single else list(frames))]
        return found[0] if single else found

    @torch.inference_mode()
    def scan(self, frames: list[np.ndarray]) -> list[EvidenceScan]:
        """The evidence maps, whole-frame probabilities and detections of same-sized frames, one pass."""
        height, width = frames[0].shape[:2]
        scale = self.short_side / min(height, width)
        size = (max(32, round(width * scale)), max(32, round(height * scale)))
        resized = [cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in frames]
        logits = self.classifier.evidence(bgr_to_tensor(resized, self.device)).float()
        log_p = logits.log_softmax(1)
        maps = torch.stack([log_p[:, members].logsumexp(1) for members in self.members], 1).exp().cpu().numpy()
        whole = logits.mean((2, 3)).softmax(1).cpu().numpy()
        cell = np.array([width / maps.shape[3], height / maps.shape[2]])   # frame pixels per map position
        return [EvidenceScan(m, p, self._detections(m, cell, self._top(p))) for m, p in zip(maps, whole)]

    def _top(self, probabilities: np.ndarray) -> tuple:
        best = np.argsort(probabilities)[::-1][:TOP_CLASSES]
        return tuple((self.classifier.labels[i], float(probabilities[i])) for i in best)

    def _detections(self, maps: np.ndarray, cell: np.ndarray, top: tuple) -> Detections:
        """Each class's 8-connected regions of positions above threshold, where it is the likeliest
        class, as boxes of their cells; score: the region's highest probability."""
        boxes, classes, scores = [], [], []
        likeliest = maps.argmax(0)
        for k, probability in enumerate(maps):
            mask = ((probability > self.threshold) & (likeliest == k)).astype(np.uint8)
            count, regions, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
            for region in range(1, count):
                x, y, w, h = stats[region, :4]
                # position i looks at input pixels around i * stride: its cell spans half a cell either side
                boxes.append(np.array([x - 0.5, y - 0.5, x + w - 0.5, y + h - 0.5]) * np.tile(cell, 2))
                classes.append(k)
                scores.append(probability[regions == region].max())
        frame = np.tile(cell * maps.shape[:0:-1], 2)                    # width, height of the frame
        boxes = np.clip(np.array(boxes, np.float32).reshape(-1, 4), 0, frame)   # border cells reach past the edge
        return Detections(boxes, np.array(classes, np.int64), np.array(scores, np.float32), self.labels, top, maps)
