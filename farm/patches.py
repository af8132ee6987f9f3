"""25x25 training patches for the hunter, cut from farm-world frames exactly as the detector sees them.

Each sampled frame gets random lighting and noise, is resized to a few random pyramid scales with
the detector's own resize, and every window on a 3-pixel grid is labelled from the world's boxes:
- an animal class when one animal fills 35-95% of the window's height, its centre near the window's
  centre and at least half of it visible (windows of two species at once are left out);
- terrain when every animal touching the window is far off-centre, tiny, or so big that the window
  shows only a part of it;
- left out otherwise (the ambiguous zone in between).
"""

from __future__ import annotations

from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import cv2
import numpy as np

from blocks.scenes import Scenes, frame_scenes, join
from engine.detection.hunter import WINDOW
from engine.detection.pyramid import BORDER, pyramid_level
from engine.errors import SaviourError
from engine.models.hunter import HUNTER_LABELS
from farm.world import FarmWorld, apply_lighting

FILL = (0.38, 0.95)        # animal height / window side for a positive
CENTRE_TOLERANCE = 0.22    # |animal centre - window centre| / window side, per axis, for a positive
OFF_CENTRE = 0.4          # beyond this (or tinier than TINY) an animal does not make a window an animal
TINY = 0.25
HUGE = 1.2                 # an animal this much taller than the window shows only a part: terrain
MIN_VISIBLE = 0.5
GRID = 3
MIN_SCENE_CHICKEN = 10    # px: camouflage scenes show chickens from this height up to half the frame


def label_windows(xy: np.ndarray, animals, fx: float, fy: float) -> tuple[np.ndarray, np.ndarray]:
    """Class index per window (top-left `xy` in level pixels), -1 where the window is ambiguous, and
    whether each window touches an animal (its terrain windows are the hard negatives)."""
    terrain = HUNTER_LABELS.index("terrain")
    if not animals:
        return np.full(len(xy), terrain), np.zeros(len(xy), bool)
    # animals x windows arrays, x and y apart: one NumPy pass instead of one per animal, and no
    # reductions over a length-2 axis, which cost more than the arithmetic
    boxes = np.array([animal.xyxy for animal in animals], float) / np.array([fx, fy, fx, fy])
    fill = (boxes[:, 3] - boxes[:, 1]) / WINDOW
    x, y = xy[:, 0], xy[:, 1]
    x0, y0, x1, y1 = (boxes[:, k, None] for k in range(4))
    offset_x = np.abs((x0 + x1) / 2 - (x + WINDOW / 2)) / WINDOW
    offset_y = np.abs((y0 + y1) / 2 - (y + WINDOW / 2)) / WINDOW
    touches = (x0 < x + WINDOW) & (y0 < y + WINDOW) & (x1 > x) & (y1 > y)
    positive = ((FILL[0] <= fill) & (fill <= FILL[1]))[:, None] & (offset_x <= CENTRE_TOLERANCE) \
        & (offset_y <= CENTRE_TOLERANCE)
    far = (offset_x > OFF_CENTRE) | (offset_y > OFF_CENTRE) | ((fill < TINY) | (fill > HUGE))[:, None]
    visible = np.array([animal.visible >= MIN_VISIBLE for animal in animals])[:, None]
    classes = np.array([HUNTER_LABELS.index(animal.label) for animal in animals])[:, None]
    # a window is the class of the first visible animal centred in it, unless another species is too
    counted = positive & visible
    first = np.where(counted.any(axis=0), classes[counted.argmax(axis=0), 0], -1)
    ambiguous = (counted & (classes != first)).any(axis=0) | (positive & ~visible).any(axis=0)
    ambiguous |= (touches & ~far & ~positive).any(axis=0)
    labels = np.where(first >= 0, first, terrain)
    labels[ambiguous] = -1
    return labels, touches.any(axis=0)


def random_lighting(rng: np.random.Generator) -> dict:
    return {"brightness": rng.uniform(0.6, 1.3), "tint": tuple(rng.uniform(0.88, 1.12, 3)),
            "noise": rng.uniform(0, 8) if rng.random() < 0.6 else 0.0}


def random_world(world_seed: int, rng: np.random.Generator, chickens=(2, 6), pigs=(1, 4), pandas=(1, 3)) -> FarmWorld:
    """A farm world with a random number of each animal (ranges end-exclusive)."""
    return FarmWorld(seed=world_seed, chickens=int(rng.integers(*chickens)), pigs=int(rng.integers(*pigs)),
                     pandas=int(rng.integers(*pandas)))


def random_frames(world: FarmWorld, count: int, rng: np.random.Generator, lighting: bool = True):
    """`count` distinct random frames of `world` in time order, each randomly lit: (frame, animals)."""
    for i in np.sort(rng.choice(1200, count, replace=False)):
        frame, animals = world.render(int(i))
        yield (apply_lighting(frame, rng=rng, **random_lighting(rng)) if lighting else frame), animals


def world_patches(seeds: Iterable[int], frames_per_world: int = 20, scales_per_frame: int = 4,
                  terrain_ratio: float = 1.0, seed: int = 0, progress=None,
                  workers: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Sample labelled patches from farm worlds.

    Returns (N x 25 x 25 x 3 uint8 BGR patches, N class indices into HUNTER_LABELS). Terrain windows
    touching an animal (the hard cases) and the other terrain windows are each subsampled to
    `terrain_ratio` times the animal windows. Each world draws from its own generator, seeded by
    (`seed`, world seed), so the result does not depend on `workers` (threads sampling worlds at once).
    """
    jobs = [(world_seed, frames_per_world, scales_per_frame, terrain_ratio, seed) for world_seed in seeds]
    patches, labels = [], []
    # threads: OpenCV and NumPy release the GIL for most of a world's work
    with ThreadPoolExecutor(max(1, min(workers, len(jobs)))) as pool:
        for world_x, world_y in pool.map(_one_world, jobs):
            patches.append(world_x)
            labels.append(world_y)
            if progress is not None:
                progress.update(1)
    return np.concatenate(patches), np.concatenate(labels)


def _one_world(job) -> tuple[np.ndarray, np.ndarray]:
    world_seed, frames_per_world, scales_per_frame, terrain_ratio, seed = job
    rng = np.random.default_rng([seed, world_seed])
    world = random_world(world_seed, rng, chickens=(2, 7), pigs=(1, 5))
    patches, labels = [], []
    for frame, animals in random_frames(world, frames_per_world, rng):
        for scale in np.exp(rng.uniform(np.log(0.04), np.log(0.8), scales_per_frame)):
            level = pyramid_level(frame, scale)
            if level is not None:
                _sample_level(level, animals, rng, terrain_ratio, patches, labels)
    return np.concatenate(patches), np.concatenate(labels)


def _sample_level(level, animals, rng, terrain_ratio, patches, labels):
    image = level.image
    h, w = image.shape[:2]
    ys, xs = np.mgrid[0:h - WINDOW + 1:GRID, 0:w - WINDOW + 1:GRID]
    offset = rng.integers(0, GRID, 2)
    xy = np.stack([xs.ravel(), ys.ravel()], 1) + offset
    xy = xy[(xy[:, 0] <= w - WINDOW) & (xy[:, 1] <= h - WINDOW)]
    label, near = label_windows(xy - BORDER, animals, level.fx, level.fy)
    terrain = HUNTER_LABELS.index("terrain")
    animal_idx = np.flatnonzero((label >= 0) & (label != terrain))
    hard_idx = np.flatnonzero((label == terrain) & near)
    easy_idx = np.flatnonzero((label == terrain) & ~near)
    n_terrain = max(2, int(terrain_ratio * len(animal_idx)))
    hard = rng.choice(hard_idx, min(len(hard_idx), n_terrain), replace=False)
    easy = rng.choice(easy_idx, min(len(easy_idx), n_terrain), replace=False)
    chosen = np.concatenate([animal_idx, hard, easy]).astype(np.int64)
    windows = np.lib.stride_tricks.sliding_window_view(image, (WINDOW, WINDOW, 3))[..., 0, :, :, :]
    patches.append(windows[xy[chosen, 1], xy[chosen, 0]].copy())
    labels.append(label[chosen])


IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".webp"}


def folder_patches(root: str | Path, size: int = WINDOW) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Load an ImageFolder (one subfolder per class) as size x size BGR patches.

    Returns (patches, class indices, class names). Folders named after the hunter's classes keep the
    hunter's class order; other names are sorted.
    """
    root = Path(root)
    if not root.is_dir():
        raise SaviourError(f"{root}: no such folder of class subfolders")
    classes = sorted(p.name for p in root.iterdir() if p.is_dir())
    if len(classes) < 2:
        raise SaviourError(f"{root}: expected at least two class subfolders, found {classes or 'none'}")
    if set(classes) <= set(HUNTER_LABELS):
        classes = list(HUNTER_LABELS)
    patches, labels = [], []
    for index, name in enumerate(classes):
        files = sorted(f for f in (root / name).glob("*") if f.suffix.lower() in IMAGE_SUFFIXES) \
            if (root / name).is_dir() else []
        for file in files:
            image = cv2.imread(str(file), cv2.IMREAD_COLOR)
            if image is None:
                raise SaviourError(f"{file}: not a readable image")
            patches.append(cv2.resize(image, (size, size), interpolation=cv2.INTER_AREA))
            labels.append(index)
    if not patches:
        raise SaviourError(f"{root}: no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in its class subfolders")
    return np.stack(patches), np.array(labels), tuple(classes)


def world_scenes(detector, seeds: Iterable[int], frames_per_world: int = 12, seed: int = 0, progress=None,
                 offset: bool = True) -> Scenes:
    """Camouflage scenes (`blocks.scenes`) of the chickens at least MIN_SCENE_CHICKEN px tall and half
    visible in random, randomly lit frames of each world; with `offset`, crops off the chickens' centres."""
    parts = []
    for world_seed in seeds:
        rng = np.random.default_rng([seed, world_seed])
        for frame, animals in random_frames(random_world(world_seed, rng), frames_per_world, rng):
            chickens = [a.xyxy for a in animals
                        if a.label == "chicken" and a.height >= MIN_SCENE_CHICKEN and a.visible >= 0.5]
            parts.append(frame_scenes(detector, frame, np.array(chickens), rng if offset else None))
        if progress is not None:
            progress.update(1)
    return join(parts)
