"""Detector recall and precision on farm-world frames, whose boxes give the ground truth.

A detection matches an animal when its centre lies in the animal's box and the labels agree.
Recall counts animals at least `min_height` px tall with at least half of them visible; a detection
that matches only smaller or mostly hidden animals is neither a hit nor a false alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from engine.detection.hunter import HunterDetector
from farm.world import FarmWorld

CONDITIONS = {
    "clean": {},
    "brightness x0.8": {"brightness": 0.8},
    "noise sigma 5": {"noise": 5.0},
}
SPECIES = ("chicken", "pig", "panda")


@dataclass
class Tally:
    """Counts for one species: animals found / animals to find, detections on an animal / detections."""

    found: int = 0
    to_find: int = 0
    correct: int = 0
    detected: int = 0

    @property
    def recall(self) -> float:
        return self.found / self.to_find if self.to_find else float("nan")

    @property
    def precision(self) -> float:
        return self.correct / self.detected if self.detected else float("nan")


@dataclass
class Evaluation:
    tallies: dict[str, Tally] = field(default_factory=lambda: {s: Tally() for s in SPECIES})
    frames: int = 0

    def add(self, detections, animals, min_height: float, min_visible: float = 0.5) -> None:
        self.frames += 1
        names = np.array(detections.names)
        for species in SPECIES:
            centres = detections.centers[names == species]
            mine = [a for a in animals if a.label == species]
            counted = np.array([a.height >= min_height and a.visible >= min_visible for a in mine], bool)
            hits = np.array([points_in_box(centres, a.xyxy) for a in mine]).reshape(len(mine), len(centres))
            on_counted = hits[counted].any(axis=0)
            on_none = ~hits.any(axis=0)
            tally = self.tallies[species]
            tally.to_find += int(counted.sum())
            tally.found += int(hits[counted].any(axis=1).sum())
            tally.correct += int(on_counted.sum())
            tally.detected += int(on_counted.sum() + on_none.sum())


def points_in_box(points: np.ndarray, xyxy) -> np.ndarray:
    """Which of the N x 2 points lie in the box (edges included)."""
    x0, y0, x1, y1 = xyxy
    return (points[:, 0] >= x0) & (points[:, 0] <= x1) & (points[:, 1] >= y0) & (points[:, 1] <= y1)


def evaluate_detector(detector: HunterDetector, seed: int, frames: int = 300, min_height: float = 20,
                      batch_size: int = 16, progress=None, **world_options) -> Evaluation:
    """Run the detector on `frames` frames of a farm world and tally recall and precision per species."""
    world = FarmWorld(seed=seed, **world_options)
    evaluation = Evaluation()
    for start in range(0, frames, batch_size):
        rendered = [world.render(i) for i in range(start, min(start + batch_size, frames))]
        for detections, (_, animals) in zip(detector([f for f, _ in rendered]), rendered):
            evaluation.add(detections, animals, min_height)
        if progress is not None:
            progress.update(len(rendered))
    return evaluation
