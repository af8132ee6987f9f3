"""96x96 crops of the farm world around one animal, with its box: data for the farm classifier and
ground truth for explanation metrics (a map should point at the box)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from engine.models.farm import FARM_INPUT_SIZE, FARM_LABELS
from farm.patches import random_frames, random_world

CONTEXT = (1.6, 2.8)     # crop side / the animal's larger side
MIN_SIDE = 16            # animals smaller than this (frame pixels) are too blurry to name
MIN_VISIBLE = 0.7
MAX_INTRUSION = 0.2      # another species may cover at most this share of the crop


@dataclass
class Crops:
    """N x S x S x 3 uint8 BGR images, class indices into FARM_LABELS, and N x 4 animal boxes (crop pixels)."""

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray

    def __len__(self) -> int:
        return len(self.labels)


def world_crops(seeds: Iterable[int], frames_per_world: int = 20, size: int = FARM_INPUT_SIZE,
                lighting: bool = True, seed: int = 0, progress=None) -> Crops:
    """Cut one crop per eligible animal from random frames of each world; the animal sits off-centre."""
    rng = np.random.default_rng(seed)
    images, labels, boxes = [], [], []
    for world_seed in seeds:
        for frame, animals in random_frames(random_world(world_seed, rng), frames_per_world, rng, lighting):
            for animal in animals:
                crop = _crop_around(frame, animal, animals, size, rng)
                if crop is not None:
                    images.append(crop[0])
                    boxes.append(crop[1])
                    labels.append(FARM_LABELS.index(animal.label))
        if progress is not None:
            progress.update(1)
    return Crops(np.stack(images), np.array(labels), np.array(boxes, dtype=np.float32))


def _crop_around(frame, animal, animals, size, rng):
    x0, y0, x1, y1 = animal.xyxy
    longest = max(x1 - x0, y1 - y0)
    if animal.visible < MIN_VISIBLE or longest < MIN_SIDE:
        return None
    side = int(round(longest * rng.uniform(*CONTEXT)))
    h, w = frame.shape[:2]
    if side > min(h, w):
        return None
    # any top-left that keeps the whole animal and the crop inside the frame
    left = rng.uniform(max(0, x1 - side), min(x0, w - side) + 1e-6)
    top = rng.uniform(max(0, y1 - side), min(y0, h - side) + 1e-6)
    left, top = int(np.clip(left, 0, w - side)), int(np.clip(top, 0, h - side))
    window = np.array([left, top, left + side, top + side], float)
    if _intrusion(window, animal, animals) > MAX_INTRUSION:
        return None
    image = frame[top:top + side, left:left + side]
    interpolation = cv2.INTER_AREA if side > size else cv2.INTER_LINEAR
    image = cv2.resize(image, (size, size), interpolation=interpolation)
    box = (np.array([x0, y0, x1, y1]) - [left, top, left, top]) * (size / side)
    return image, np.clip(box, 0, size)


def _intrusion(window, animal, animals) -> float:
    side = window[2] - window[0]
    worst = 0.0
    for other in animals:
        if other is animal or other.label == animal.label:
            continue
        ox0, oy0, ox1, oy1 = other.xyxy
        iw = max(0.0, min(window[2], ox1) - max(window[0], ox0))
        ih = max(0.0, min(window[3], oy1) - max(window[1], oy0))
        worst = max(worst, iw * ih / side ** 2)
    return worst
