"""On-the-fly defence, as in the source notebook's "after" recording: no precomputed block, but a
small perturbation of each detected chicken's region, within an L-infinity pixel budget.

A few steps of projected gradient descent (PGD) away from "chicken" go through the detector's own
view of the region: each pyramid level that can see the chicken, cut on the detector's window grid,
computed as the detector computes it. A level is a linear map of the frame (area resizes, then
replicated borders), so a view is the clean frame's level plus the map of the perturbation alone,
and the gradient goes back by the transposed map; only the perturbed pixels cost anything per step.
One step of the whole budget from scratch is the notebook's FGSM. A video's chickens move little
from one frame to the next, so each chicken's perturbation is carried to the next frame as the start
of its steps (warm start): over frames the attack keeps improving instead of starting again.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import cv2
import numpy as np
import torch
import torch.nn.functional as F

from engine.detection.pyramid import pyramid

MARGIN = 0.25            # the perturbed region: each chicken box grown by this share of its size on every side
SEEN_FILL = (0.25, 3.0)   # chicken height / window side at the levels whose windows the steps target
CANVAS_QUANTUM = 4       # the canvas's windows a side are rounded up to a multiple of this, so its shapes recur
HIDDEN = 0.05            # when every window gives the protected class less than this, the steps stop (a margin:
                         # the detector's rounded pyramid is sure at 0.99 where this exact one may give 0.5)
SAME_CHICKEN = 0.3       # a box overlapping last frame's by this IoU is the same chicken: its perturbation carries


@dataclass
class Perturbation:
    """A perturbed region (x0, y0, x1, y1, frame pixels) and its change, 3 x H x W RGB in [0, 1] units."""

    box: np.ndarray
    delta: torch.Tensor


@dataclass(frozen=True)
class _View:
    """One view: the clean frame's level cut on the window grid (3 x h x w RGB), and how the
    perturbation reaches it: the level map's rows and columns for it over the perturbed pixels,
    rows y0:y1 and columns x0:x1 of the perturbation's rectangle."""

    clean: torch.Tensor
    rows: torch.Tensor
    columns: torch.Tensor
    y0: int
    y1: int
    x0: int
    x1: int

    def of(self, delta: torch.Tensor) -> torch.Tensor:
        return self.clean + _both(self.rows, delta[:, self.y0:self.y1, self.x0:self.x1], self.columns.T)

    def back(self, gradient: torch.Tensor, into: torch.Tensor) -> None:
        """Add the gradient of a view (3 x h x w) to the perturbation's (3 x H x W)."""
        into[:, self.y0:self.y1, self.x0:self.x1] += _both(self.rows.T, gradient, self.columns)


def _both(left: torch.Tensor, image: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """left @ image[c] @ right for each channel c of a 3 x h x w image, as two plain matrix products
    (a batched product would copy `left` for every channel)."""
    channels, height, width = image.shape
    rows = (left @ image.permute(1, 0, 2).reshape(height, channels * width)).reshape(-1, width)
    return (rows @ right).reshape(left.shape[0], channels, right.shape[1]).permute(1, 0, 2)


def perturbed_regions(xyxy: np.ndarray) -> np.ndarray:
    """The perturbed regions (N x 4, frame pixels): each box grown by MARGIN on every side."""
    xyxy = np.asarray(xyxy, float).reshape(-1, 4)
    size = xyxy[:, 2:] - xyxy[:, :2]
    return np.concatenate([xyxy[:, :2] - MARGIN * size, xyxy[:, 2:] + MARGIN * size], 1)


def clipped_regions(xyxy: np.ndarray, shape) -> np.ndarray:
    """The perturbed regions in whole pixels inside a frame of `shape`, empty ones left out."""
    limits = np.array([shape[1], shape[0], shape[1], shape[0]])
    boxes = np.clip(np.round(perturbed_regions(xyxy)), 0, limits).astype(int)
    return boxes[(boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])]


def attack_chickens(detector, frame: np.ndarray, xyxy: np.ndarray, eps: float, steps: int = 1,
                    step_size: float | None = None, previous: list[Perturbation] = (),
                    protect: str = "chicken") -> list[Perturbation]:
    """In place: perturb the region of each protected box of `frame` by at most `eps` (pixel scale
    [0, 1]) per pixel, with `steps` signed-gradient steps of `step_size` (default: the whole budget
    over the steps, at least half of it) that lower the hunter's evidence for `protect`, projected
    back onto the budget after each. A box that overlaps one of `previous` starts from that
    perturbation, resized to it. Returns this frame's perturbations.
    """
    xyxy = np.asarray(xyxy, float).reshape(-1, 4)
    boxes = clipped_regions(xyxy, frame.shape)
    if not len(boxes):
        return []
    # the perturbation lives on the rectangle holding every perturbed region
    origin = boxes[:, :2].min(0)
    x1, y1 = boxes[:, 2:].max(0)
    part = frame[origin[1]:y1, origin[0]:x1]
    views = _views(frame, xyxy, boxes - np.tile(origin, 2), origin, detector)
    if not views:
        return []
    device = detector.device
    clean = torch.from_numpy(np.ascontiguousarray(part[..., ::-1], np.float32) / 255).permute(2, 0, 1).to(device)
    delta, inside = torch.zeros_like(clean), torch.zeros(part.shape[:2], dtype=torch.bool, device=device)
    for box in boxes:
        bx0, by0, bx1, by1 = box - np.tile(origin, 2)
        delta[:, by0:by1, bx0:bx1] = _carried(box, previous)
        inside[by0:by1, bx0:bx1] = True
    low, high = -clean * inside, (1 - clean) * inside    # the budget within [0, 1], and nothing outside the regions
    low, high = low.clamp(min=-eps), high.clamp(max=eps)
    size = eps * max(1 / steps, 0.5) if step_size is None else step_size
    loss = _loss(detector.classifier.labels.index(protect))
    delta = torch.maximum(torch.minimum(delta, high), low)
    for _ in range(steps):
        gradient = _gradient(detector.classifier, loss, delta, views, detector.grid)
        if gradient is None:
            break   # already hidden: further steps would cost time and change nothing the hunter sees
        delta = torch.maximum(torch.minimum(delta - size * gradient.sign(), high), low)
    done = ((clean + delta) * 255).round() / 255 - clean
    changed = inside.cpu().numpy()
    attacked = ((clean + done) * 255).round().permute(1, 2, 0).cpu().numpy()[..., ::-1]
    part[changed] = attacked[changed].astype(np.uint8)
    return [Perturbation(box, done[:, by0:by1, bx0:bx1].clone())
            for box, (bx0, by0, bx1, by1) in zip(boxes, boxes - np.tile(origin, 2))]


def _carried(box: np.ndarray, previous) -> torch.Tensor | float:
    """Last frame's perturbation of the chicken in `box` (the one it overlaps most), resized to the box; else 0."""
    best = max(previous, key=lambda p: _iou(box, p.box), default=None)
    if best is None or _iou(box, best.box) < SAME_CHICKEN:
        return 0.0
    return F.interpolate(best.delta[None], size=(int(box[3] - box[1]), int(box[2] - box[0])), mode="nearest")[0]


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    w, h = min(a[2], b[2]) - max(a[0], b[0]), min(a[3], b[3]) - max(a[1], b[1])
    overlap = max(w, 0) * max(h, 0)
    union = np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - overlap
    return float(overlap / union) if union > 0 else 0.0


def _loss(protect: int):
    """The loss of a batch of dense logits: -log(1 - p(protect)) per window, large exactly where the
    hunter is sure; and p(protect). (Pulling every window toward one target class as well left more
    chickens found.)"""

    def loss(logits: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        log_p = logits.log_softmax(1)
        return -torch.cat([log_p[:, :protect], log_p[:, protect + 1:]], 1).logsumexp(1), log_p[:, protect].exp()
    return loss


def _gradient(classifier, loss, delta: torch.Tensor, views: list[_View], grid) -> torch.Tensor | None:
    """The gradient (3 x H x W) of `loss` summed over every window of every view, the views scored in
    one network pass, laid side by side on one canvas; None when no window gives the protected class
    HIDDEN or more."""
    leaves = [view.of(delta)[None].requires_grad_(True) for view in views]
    canvas, owner = _canvas(leaves, grid)
    counted = owner >= 0
    per_window, sure = loss(classifier.dense_logits(canvas))
    if float(sure.detach()[counted].max()) < HIDDEN:
        return None
    gradients = torch.autograd.grad(per_window[counted].sum(), leaves)
    into = torch.zeros_like(delta)
    for view, gradient in zip(views, gradients):
        view.back(gradient[0], into)
    return into


def _views(frame: np.ndarray, xyxy: np.ndarray, regions: np.ndarray, origin: np.ndarray, detector) -> list[_View]:
    """Each protected box's surroundings (its perturbed region and a window beyond) at every pyramid
    level whose windows the animal fills SEEN_FILL of: the windows that could find it, cut on the
    detector's window grid. `regions` are the perturbed regions in the perturbation's rectangle,
    which starts at frame pixel `origin`."""
    grid, (height, width) = detector.grid, frame.shape[:2]
    scales = tuple(detector.scales_for(height))
    levels = pyramid(frame, scales, grid)
    span = np.concatenate([regions[:, :2].min(0), regions[:, 2:].max(0)]) + np.tile(origin, 2)
    views = []
    for level, maps in zip(levels, level_maps(height, width, scales, grid.window, grid.border)):
        for box, region in zip(xyxy, perturbed_regions(xyxy)):
            if not SEEN_FILL[0] <= (box[3] - box[1]) / level.fy / grid.window <= SEEN_FILL[1]:
                continue
            y0, y1 = _window_span(region[1] / level.fy, region[3] / level.fy, len(maps.rows), grid)
            x0, x1 = _window_span(region[0] / level.fx, region[2] / level.fx, len(maps.columns), grid)
            if y1 - y0 < grid.window or x1 - x0 < grid.window:
                continue
            # the perturbed pixels this view draws on: its support within the perturbation's rectangle
            (fy0, fy1), (fx0, fx1) = maps.row_support(y0, y1), maps.column_support(x0, x1)
            fy0, fy1, fx0, fx1 = max(fy0, span[1]), min(fy1, span[3]), max(fx0, span[0]), min(fx1, span[2])
            if fy1 <= fy0 or fx1 <= fx0:
                continue
            clean = torch.from_numpy(np.ascontiguousarray(level.image[y0:y1, x0:x1, ::-1], np.float32) / 255)
            device = detector.device
            views.append(_View(clean.permute(2, 0, 1).to(device), maps.rows[y0:y1, fy0:fy1].to(device),
                               maps.columns[x0:x1, fx0:fx1].to(device),
                               fy0 - span[1], fy1 - span[1], fx0 - span[0], fx1 - span[0]))
    return views


@dataclass(frozen=True)
class LevelMap:
    """The linear maps of a frame's rows and of its columns to a padded pyramid level's (level =
    rows @ frame @ columns.T per channel), and for each level row or column the first and last frame
    pixel it draws on."""

    rows: torch.Tensor
    columns: torch.Tensor
    row_ends: np.ndarray
    column_ends: np.ndarray

    def row_support(self, start: int, end: int) -> tuple[int, int]:
        return int(self.row_ends[start:end, 0].min()), int(self.row_ends[start:end, 1].max()) + 1

    def column_support(self, start: int, end: int) -> tuple[int, int]:
        return int(self.column_ends[start:end, 0].min()), int(self.column_ends[start:end, 1].max()) + 1


@functools.lru_cache(maxsize=8)
def level_maps(height: int, width: int, scales: tuple, window: int, border: int) -> list[LevelMap]:
    """The `LevelMap` of each level of the detector's pyramid (engine.detection.pyramid: each level
    area-resized from the one before, then padded by `border` replicated pixels): the detector's
    level up to its rounding to whole numbers."""
    maps, rows, columns = [], np.eye(height, dtype=np.float32), np.eye(width, dtype=np.float32)
    for scale in sorted(scales, reverse=True):
        size = (round(width * scale), round(height * scale))
        if min(size) < window:
            break
        rows = cv2.resize(rows, (rows.shape[1], size[1]), interpolation=cv2.INTER_AREA)
        columns = cv2.resize(columns, (columns.shape[1], size[0]), interpolation=cv2.INTER_AREA)
        padded = [_padded(m, border) for m in (rows, columns)]
        maps.append(LevelMap(*(torch.from_numpy(m) for m in padded), *(_ends(m) for m in padded)))
    return maps


def _padded(resize: np.ndarray, border: int) -> np.ndarray:
    """A resize's rows with `border` copies of its first and last row added: replicate padding."""
    return resize[np.clip(np.arange(-border, len(resize) + border), 0, len(resize) - 1)]


def _ends(resize: np.ndarray) -> np.ndarray:
    """Per row of a resize, the first and the last source pixel it weighs."""
    used = resize != 0
    return np.stack([used.argmax(1), resize.shape[1] - 1 - used[:, ::-1].argmax(1)], 1)


def _window_span(start: float, end: float, size: int, grid) -> tuple[int, int]:
    """Padded-level pixels holding every window that overlaps [start, end) of the unpadded level,
    starting on the window grid."""
    low = max(0, int(np.floor((start + grid.border - grid.window) / grid.stride)) * grid.stride)
    return low, min(size, int(np.ceil(end + grid.border + grid.window)))


def _canvas(views: list[torch.Tensor], grid) -> tuple[torch.Tensor, torch.Tensor]:
    """The views side by side on one canvas on the window grid, two windows apart, and for each of
    the canvas's windows (1 x rows x columns) the view it lies wholly inside (-1: none)."""
    counts = [(grid.count(v.shape[-2]), grid.count(v.shape[-1])) for v in views]
    starts = np.cumsum([0] + [columns + 2 for _, columns in counts[:-1]])
    rows, columns = max(r for r, _ in counts), int(starts[-1] + counts[-1][1] + 2)
    rows, columns = (-(-n // CANVAS_QUANTUM) * CANVAS_QUANTUM for n in (rows, columns))   # recurring shapes
    canvas = views[0].new_zeros(1, 3, grid.span(rows), grid.span(columns)).contiguous(memory_format=torch.channels_last)
    owner = torch.full((1, rows, columns), -1, dtype=torch.long, device=canvas.device)
    for index, (view, start, (r, c)) in enumerate(zip(views, starts.tolist(), counts)):
        left, high, wide = grid.stride * start, grid.span(r), grid.span(c)   # pixels past the last window dropped
        canvas[:, :, :high, left:left + wide] = view[:, :, :high, :wide]
        owner[:, :r, start:start + c] = index
    return canvas, owner
