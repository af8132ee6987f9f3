"""Folders of photos as a classifier's inputs: each resized to its short side and centre-cropped."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from engine.errors import SaviourError

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


def image_files(folder: str | Path) -> list[Path]:
    """The image files in `folder` (not its subfolders), sorted by name; SaviourError when there are none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise SaviourError(f"{folder}: no such image folder")
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise SaviourError(f"{folder}: no images ({', '.join(IMAGE_SUFFIXES)})")
    return files


def evenly_spread(files: list[Path], count: int) -> list[Path]:
    """At most `count` of `files`, taken at an even step through them (every k-th by name)."""
    return files[::max(1, len(files) // count)][:count]


def centre_crop(image: np.ndarray, side: int, resize: int) -> np.ndarray:
    """A BGR image resized (area) to short side `resize`, then its central `side` x `side` square."""
    height, width = image.shape[:2]
    scale = resize / min(height, width)
    image = cv2.resize(image, (max(side, round(width * scale)), max(side, round(height * scale))),
                       interpolation=cv2.INTER_AREA)
    top, left = (image.shape[0] - side) // 2, (image.shape[1] - side) // 2
    return image[top:top + side, left:left + side]


def read_crops(files: list[Path], side: int, resize: int, progress=None) -> tuple[np.ndarray, list[Path]]:
    """The readable files as N x side x side x 3 BGR uint8 centre crops, and those files; SaviourError
    when none of them is readable."""
    crops, kept = [], []
    for file in files:
        image = cv2.imread(str(file), cv2.IMREAD_COLOR)
        if image is not None:
            crops.append(centre_crop(image, side, resize))
            kept.append(file)
        if progress is not None:
            progress.update()
    if not crops:
        raise SaviourError(f"{files[0].parent}: none of its {len(files)} image files could be read")
    return np.stack(crops), kept
