"""Detections: the boxes a detector found in one frame."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Detections:
    """Boxes found in one frame.

    Attributes:
        xyxy: N x 4 float boxes in frame pixels.
        class_id: N class indices into `labels`.
        score: N probabilities of the detected class.
        labels: the class names of the classifier that produced them.
        top_classes: a whole-frame classifier's most likely classes, (name, probability) pairs, or ().
        evidence: per label, the detector's evidence for it over the frame (labels x h x w, [0, 1], at
            the detector's own resolution), or None.
    """

    xyxy: np.ndarray
    class_id: np.ndarray
    score: np.ndarray
    labels: tuple[str, ...]
    top_classes: tuple = ()
    evidence: np.ndarray | None = None

    @classmethod
    def empty(cls, labels) -> "Detections":
        return cls(np.zeros((0, 4), np.float32), np.zeros(0, np.int64), np.zeros(0, np.float32), tuple(labels))

    def __len__(self) -> int:
        return len(self.class_id)

    def __getitem__(self, keep) -> "Detections":
        """Select detections by boolean mask or indices."""
        return Detections(self.xyxy[keep], self.class_id[keep], self.score[keep], self.labels, self.top_classes,
                          self.evidence)

    @property
    def names(self) -> list[str]:
        return [self.labels[c] for c in self.class_id]

    @property
    def centers(self) -> np.ndarray:
        return (self.xyxy[:, :2] + self.xyxy[:, 2:]) / 2

    def of_class(self, name: str) -> "Detections":
        return self[self.class_id == self.labels.index(name)]


def aim(detections: Detections, target: str = "chicken") -> tuple[float, float] | None:
    """The hunter's aim point: the mean centre of the `target` detections, or None when there are none."""
    if target not in detections.labels:
        return None
    chosen = detections.of_class(target)
    if not len(chosen):
        return None
    x, y = chosen.centers.mean(axis=0)
    return float(x), float(y)


def target_point(detections: Detections, target: str = "chicken") -> tuple[float, float] | None:
    """The single animal the hunter shoots at: the centre of its most confident `target` detection.

    Unlike `aim`, which averages all chickens as the notebook did, this never points between two
    chickens, so "does the hunter target a real chicken" has a clear answer.
    """
    if target not in detections.labels:
        return None
    chosen = detections.of_class(target)
    if not len(chosen):
        return None
    best = np.lexsort((-np.prod(chosen.xyxy[:, 2:] - chosen.xyxy[:, :2], axis=1), -chosen.score))[0]
    x, y = chosen.centers[best]
    return float(x), float(y)
