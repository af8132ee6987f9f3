"""Dense multi-scale detection with the hunter.

The notebook cropped windows and classified them one at a time. The hunter is convolutional up to its
head, so one pass over a whole pyramid level scores every 25x25 window at stride 9 at once; shifting
the input by 3 or 1 pixels gives finer strides. Windows above the threshold are grouped per object.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import cv2
import numpy as np
import torch

from engine.detection.canvas import level_layout, paint
from engine.detection.detections import Detections
from engine.detection.grouping import bordered_probabilities, cluster, neighbourhood_centroid
from engine.detection.grid import WindowGrid
from engine.detection.pyramid import Level, edited_pyramid, pyramid
from engine.detection.rescan import cell_crop, cell_groups, changed_windows, pack, window_count
from engine.errors import SaviourError
from engine.models.hunter import HUNTER_INPUT_SIZE as WINDOW

# The hunter is trained on windows where the animal is 38-95% of the window's height (realtime/patches.py).
# Levels a factor 2 apart, starting where the smallest animal fills 55%, show every animal filling
# ANIMAL_FILL of a window at some level, inside the trained range with a margin.
ANIMAL_FILL = (0.55, 0.9)
LEVEL_RATIO = 0.5
BOX_FRACTION = 0.6   # a window's detection box: its central part, about where the animal sits
REFERENCE_HEIGHT = 360   # the farm world's frame height, which the hunter is trained and tested at
MIN_ANIMAL = 20          # the smallest animal sought in frames up to REFERENCE_HEIGHT, px
# A level larger than twice the frame's side only interpolates pixels the frame does not have, at four
# times the memory and work per doubling (--scales 100 filled 21 GB before failing).
MAX_SCALE = 2.0


def auto_min_size(height: int) -> float:
    """The default smallest animal for a frame `height` px tall: MIN_ANIMAL px up to REFERENCE_HEIGHT,
    the same share of the frame above it (40 px at 720p, 60 at 1080p).

    A larger frame of the same scene shows every animal larger, so it is scanned as its 360p version
    would be, at the same cost; seeking 20-px animals in 1080p would scan nine times the pixels.
    """
    return MIN_ANIMAL * max(1.0, height / REFERENCE_HEIGHT)


def default_scales(height: int, min_size: float | None = None, max_fraction: float = 0.5,
                   window: int = WINDOW) -> tuple[float, ...]:
    """Pyramid scales that show animals from `min_size` px (default: `auto_min_size`) up to
    `max_fraction` of the frame height."""
    min_size = auto_min_size(height) if min_size is None else min_size
    if min_size <= 0 or not 0 < max_fraction <= 1:
        raise SaviourError(f"min_size must be > 0 and max_fraction in (0, 1], got {min_size}, {max_fraction}")
    scales = [window * ANIMAL_FILL[0] / min_size]
    while scales[-1] * max_fraction * height / window > ANIMAL_FILL[1]:
        scales.append(scales[-1] * LEVEL_RATIO)
    return tuple(scales)


def bgr_to_tensor(images, device: torch.device) -> torch.Tensor:
    """Same-sized uint8 BGR images (a list, or an N x H x W x 3 array such as training patches) as an
    N x 3 x H x W float RGB tensor in [0, 1], channels-last (oneDNN's fastest layout for the hunter)."""
    batch = np.ascontiguousarray(images) if isinstance(images, np.ndarray) else np.stack(images)
    # one colour conversion over the whole stack: far cheaper than one call per small image
    rgb = cv2.cvtColor(batch.reshape(-1, *batch.shape[2:]), cv2.COLOR_BGR2RGB).reshape(batch.shape)
    return torch.from_numpy(rgb).to(device).float().mul_(1 / 255).permute(0, 3, 1, 2)


@dataclass
class _Windows:
    """Windows above threshold over a batch: which frame, top-left in frame px, side in frame px, class, score."""

    frame: np.ndarray
    xy: np.ndarray
    side: np.ndarray
    class_id: np.ndarray
    score: np.ndarray

    @classmethod
    def empty(cls) -> "_Windows":
        none = np.zeros(0)
        return cls(none.astype(np.int64), np.zeros((0, 2)), none, none.astype(np.int64), none)


class Scan(NamedTuple):
    """One frame as the detector saw it: its pyramid, every level's dense logits, what it found."""

    levels: list[Level]
    logits: list[torch.Tensor]   # per level: S x C x H' x W', one map per input shift (see dense_logits)
    detections: Detections
    frame: np.ndarray            # a copy: what a rescan compares an edited frame with


class HunterDetector:
    """Finds animals with the hunter classifier over an image pyramid.

    Args:
        classifier: the hunter (an nn.Module with `dense_logits`, `labels`, `input_size` 25).
        scales: pyramid scales; None picks them from the frame height (see `default_scales`).
        stride: window stride in pyramid pixels; 9 is one pass per level, 3 or 1 shift the input.
        threshold: keep windows whose class probability exceeds this, in (0, 1).
        min_size: smallest animal height in frame pixels that the default scales aim to find; None
            follows the frame's height (see `auto_min_size`).
        background: the classifier's class for "nothing here", never reported (None: every class is).

    Example:
        >>> detector = HunterDetector(load_classifier("hunter"))
        >>> detections = detector(frame_bgr)
        >>> aim(detections)
    """

    def __init__(self, classifier, scales=None, stride: int | None = None, threshold: float = 0.99,
                 min_size: float | None = None, background: str | None = "terrain"):
        self.grid = WindowGrid.of(classifier)   # where the classifier's windows lie: its input size and stride
        stride = self.grid.stride if stride is None else stride
        if not 0 < stride <= self.grid.stride or self.grid.stride % stride:
            divisors = [d for d in range(1, self.grid.stride + 1) if self.grid.stride % d == 0]
            raise SaviourError(f"stride must be {', '.join(map(str, divisors))} pixels (dividing the network's "
                               f"{self.grid.stride}), got {stride}")
        if not 0 < threshold < 1:
            raise SaviourError(f"threshold must be in (0, 1), got {threshold}")
        smallest = self.grid.window * ANIMAL_FILL[0] / MAX_SCALE
        if min_size is not None and not min_size >= smallest:
            raise SaviourError(f"min_size must be at least {smallest:.3g} pixels (a smaller animal would need "
                               f"the frame enlarged more than {MAX_SCALE:g}x), got {min_size}")
        if scales is not None and (len(scales) == 0 or any(not 0 < s <= MAX_SCALE for s in scales)):
            raise SaviourError(f"scales must be numbers in (0, {MAX_SCALE:g}] (a level at most {MAX_SCALE:g}x the "
                               f"frame's side), got {', '.join(f'{s:g}' for s in scales)}")
        self.classifier, self.stride, self.threshold, self.min_size = classifier, stride, threshold, min_size
        self.scales = tuple(scales) if scales is not None else None
        self.labels = tuple(classifier.labels)
        self.device = next(classifier.parameters()).device
        self._background = self.labels.index(background) if background in self.labels else None

    def min_size_for(self, height: int) -> float:
        """The smallest animal this detector seeks in frames `height` px tall."""
        return auto_min_size(height) if self.min_size is None else self.min_size

    def scales_for(self, height: int) -> tuple[float, ...]:
        return self.scales or default_scales(height, self.min_size_for(height), window=self.grid.window)

    @property
    def offsets(self) -> list[tuple[int, int]]:
        """The (dy, dx) input shifts that give this detector's stride from the network's native 9."""
        steps = range(0, self.grid.stride, self.stride)
        return [(dy, dx) for dy in steps for dx in steps]

    def __call__(self, frames):
        """Detect animals in one BGR uint8 frame (returns Detections) or a list/batch of them (returns a list)."""
        single = isinstance(frames, np.ndarray) and frames.ndim == 3
        found = [scan.detections for scan in self.scan([frames] if single else list(frames))]
        return found[0] if single else found

    @torch.inference_mode()
    def scan(self, frames: list[np.ndarray]) -> list[Scan]:
        """Detect in a batch of same-sized frames: one pass per pyramid level, or one for a single frame."""
        per_frame = [pyramid(f, self.scales_for(f.shape[0]), self.grid) for f in frames]
        return self._scans(frames, per_frame, self._level_logits(per_frame))

    @torch.inference_mode()
    def level_probabilities(self, levels: list[Level]) -> list[torch.Tensor]:
        """Class probabilities of every window of one frame's pyramid `levels`, per level S x C x H' x W':
        the scoring part of `scan`, without building the pyramid or grouping the windows."""
        return [maps.softmax(dim=1) for maps in self._level_logits([levels])[0]]

    def _level_logits(self, per_frame: list[list[Level]]) -> list[list[torch.Tensor]]:
        """Per frame, per level, `dense_logits` of the level.

        A single frame's levels share one canvas and one pass (engine.detection.canvas): each call has a fixed
        cost that small levels do not amortise. A batch of frames amortises it per level already, and
        there the canvas's gaps cost more than they save (about 20% at 16 frames of 640x360).
        """
        if len(per_frame) == 1 and len(per_frame[0]) > 1:
            shapes = [level.image.shape[:2] for level in per_frame[0]]
            origins, size = level_layout(shapes, self.grid.stride)
            canvas = paint([level.image for level in per_frame[0]], origins, size, self.grid.stride)
            maps, _ = self.dense_logits(bgr_to_tensor([canvas], self.device))
            return [[maps[:, :, r:r + rows, c:c + cols]
                     for (r, c), (rows, cols) in zip(origins, map(self._grid, shapes))]]
        logits = [[] for _ in per_frame]
        for levels in zip(*per_frame):
            level_logits, _ = self.dense_logits(bgr_to_tensor([level.image for level in levels], self.device))
            for mine, maps in zip(logits, level_logits.unflatten(0, (len(per_frame), -1))):
                mine.append(maps)
        return logits

    def _grid(self, shape: tuple[int, int]) -> tuple[int, int]:
        """Rows and columns of windows per input shift in a level image of `shape`, as `dense_logits` gives."""
        trim = self.grid.stride - 1 if len(self.offsets) > 1 else 0    # shifted inputs are cropped by stride - 1 px
        return tuple(window_count(n - trim, self.grid) for n in shape)

    @torch.inference_mode()
    def rescan(self, frames: list[np.ndarray], previous: list[Scan]) -> list[Scan]:
        """`scan` of frames that are edited copies (same size) of previously scanned ones, such as a
        frame with blocks pasted on it.

        Resizing and the network are local: only the edited regions of each pyramid level are resized
        again, and only windows that touch an edited pixel are scored again, all of them in one pass.
        The result is what `scan` would return.
        """
        for frame, scan in zip(frames, previous):
            if frame.shape != scan.frame.shape:
                raise SaviourError(f"rescan needs frames of the scanned size {scan.frame.shape}, got {frame.shape}")
        per_frame = [edited_pyramid(scan.levels, scan.frame, f) for f, scan in zip(frames, previous)]
        logits = [list(scan.logits) for scan in previous]
        jobs, crops = [], []
        for k, (scan, levels) in enumerate(zip(previous, per_frame)):
            for i, (old, new) in enumerate(zip(scan.levels, levels)):
                for s, rect, crop in self._changed_regions(old, new, scan.logits[i].shape[2:]):
                    jobs.append((k, i, s, rect))
                    crops.append(crop)
        if crops:
            canvas, starts = pack(crops, self.grid)
            scored = self.classifier.dense_logits(
                bgr_to_tensor([canvas], self.device).contiguous(memory_format=torch.channels_last))[0]
            for k, i in {(k, i) for k, i, _, _ in jobs}:
                logits[k][i] = logits[k][i].clone()   # the previous scan stays valid for other defences
            for (k, i, s, (r0, c0, r1, c1)), start in zip(jobs, starts):
                logits[k][i][s, :, r0:r1, c0:c1] = scored[:, :r1 - r0, start:start + c1 - c0]
        return self._scans(frames, per_frame, logits)

    def _changed_regions(self, old: Level, new: Level, cells):
        """(shift index, window rectangle, level crop) for each group of windows an edit touched."""
        changed = changed_windows(old.image, new.image, self.offsets, cells, self.grid)
        for s, (shift, touched) in enumerate(zip(self.offsets, changed or [])):
            for rect in cell_groups(touched):
                yield s, rect, cell_crop(new.image, rect, shift, self.grid)

    def _scans(self, frames: list[np.ndarray], per_frame: list[list[Level]],
               logits: list[list[torch.Tensor]]) -> list[Scan]:
        levels = per_frame[0] if per_frame else []     # frames of one size share the level geometry
        windows = self._windows([torch.cat(maps) for maps in zip(*logits)], levels)
        return [Scan(own, maps, self._group(windows, k), frame.copy())
                for k, (frame, own, maps) in enumerate(zip(frames, per_frame, logits))]

    def _windows(self, maps: list[torch.Tensor], levels: list[Level]) -> _Windows:
        """The windows above threshold in every level's logits of all frames, in frame coordinates.

        The maps are small (a few thousand cells), so this runs in NumPy on the CPU, where each step
        costs microseconds rather than a tensor library's per-operation overhead; with all levels in
        one array (`bordered_probabilities`) each step is one call for the whole pyramid.
        """
        if not maps:
            return _Windows.empty()
        probs, starts, widths = bordered_probabilities(maps)
        scored = probs.copy()
        if self._background is not None:
            scored[:, self._background] = 0
        score, class_id = scored.max(axis=1), scored.argmax(axis=1)
        flat, cell = np.nonzero(score > self.threshold)
        level = np.searchsorted(starts, cell, side="right") - 1
        order = np.lexsort((flat, level))   # level by level: grouping breaks score ties by this order
        flat, cell, level = flat[order], cell[order], level[order]
        cls = class_id[flat, cell]
        row, col = neighbourhood_centroid(probs, flat, cls, cell, starts[level], widths[level])
        shift = np.asarray(self.offsets, float).reshape(-1, 2)[flat % len(self.offsets)]
        scale = np.array([[lv.fx, lv.fy] for lv in levels])[level]      # frame pixels per level pixel
        step, border = self.grid.stride, self.grid.border
        xy = (np.stack([col * step + shift[:, 1], row * step + shift[:, 0]], 1) - border) * scale
        side = self.grid.window * np.sqrt(scale.prod(axis=1))
        return _Windows(flat // len(self.offsets), xy, side, cls, score[flat, cell])

    def dense_logits(self, level: torch.Tensor) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """Class logits of every window of a batch of pyramid levels at this detector's stride.

        Returns (logits of shape (N*S) x C x H' x W', the S (dy, dx) input shifts); window (r, c)
        of shift (dy, dx) covers level pixels [9r + dy, 9r + dy + 25) x [9c + dx, 9c + dx + 25).
        """
        offsets = self.offsets
        if len(offsets) > 1:
            h, w = level.shape[2] - self.grid.stride + 1, level.shape[3] - self.grid.stride + 1
            level = torch.stack([level[:, :, dy:dy + h, dx:dx + w] for dy, dx in offsets], 1).flatten(0, 1)
        return self.classifier.dense_logits(level.contiguous(memory_format=torch.channels_last)), offsets

    def dense_probabilities(self, level: torch.Tensor) -> tuple[torch.Tensor, list[tuple[int, int]]]:
        """`dense_logits` as class probabilities."""
        logits, offsets = self.dense_logits(level)
        return logits.softmax(dim=1), offsets

    def _group(self, windows: _Windows, k: int) -> Detections:
        mine = windows.frame == k
        if not mine.any():
            return Detections.empty(self.labels)
        side = windows.side[mine]
        centre = windows.xy[mine] + side[:, None] / 2
        half = side[:, None] * BOX_FRACTION / 2
        boxes = np.concatenate([centre - half, centre + half], 1)
        xyxy, score, class_id = cluster(boxes, windows.score[mine], windows.class_id[mine])
        order = np.lexsort((class_id, -score))     # by score; ties by class, then as clustered
        return Detections(xyxy[order].astype(np.float32), class_id[order], score[order], self.labels)


