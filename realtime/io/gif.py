"""Looping, palette-optimised GIFs through Pillow."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from engine.files import atomic_path
from realtime.io.video import prepare_output


def write_gif(frames: list[np.ndarray], path: str | Path, fps: float, width: int | None = None,
              colours: int = 64) -> Path:
    """Write BGR frames as a looping GIF (one adaptive palette per frame), under a temporary name first."""
    path = prepare_output(path, ".gif")
    images = []
    for frame in frames:
        frame = frame if width is None else fit_width(frame, width)
        images.append(Image.fromarray(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)).quantize(colours))
    with atomic_path(path) as tmp:
        images[0].save(tmp, format="GIF", save_all=True, append_images=images[1:], loop=0,
                       duration=round(1000 / fps), optimize=True, disposal=1)
    return path


def fit_width(frame: np.ndarray, width: int) -> np.ndarray:
    """The frame resized to `width` pixels wide, proportions kept."""
    if frame.shape[1] == width:
        return frame
    height = round(frame.shape[0] * width / frame.shape[1])
    return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)
