"""Camouflage scenes: chickens as the defended pipeline treats them, for optimising camouflage blocks.

Random placement inside one window (`blocks.transforms`) never shows the hunter what the pipeline
makes: a square block centred on each detected box, seen by every pyramid level, where finer levels'
windows see only part of the block, its edge against grass, or a leg or the head beside it. A scene
is a cut of one pyramid level near a chicken (from a farm-world frame), with the places of the
blocks the pipeline would paste (one per chicken the detector found in the clean frame). The loss
falls on every window the hunter would count as this chicken: its centre inside the chicken's box or
inside a block's square grown by FOOTPRINT_GROWTH (a hunter that aims at a block's edge has found
the chicken under it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from blocks.choices import LARGE_BLOCKS
from blocks.paste import FOOTPRINT_GROWTH
from blocks.transforms import Placement
from engine.detection.hunter import WINDOW, HunterDetector, bgr_to_tensor
from engine.detection.pyramid import BORDER, pyramid
from engine.models.hunter import HUNTER_STRIDE as STRIDE

GRID = 7                                  # windows a side scored per scene
CROP = WINDOW + STRIDE * GRID - 1         # level pixels a side: GRID windows at any of the 9 input shifts
FILL = (0.25, 6.0)                        # chicken height / window side at the levels a scene is cut from
MAX_BLOCKS = 4                            # blocks kept per scene (the nearest to the crop's centre)
OFFSET = 0.6                              # the crop's centre lies up to this share of the chicken's side off it


@dataclass
class Scenes:
    """N level crops (N x 3 x CROP x CROP RGB in [0, 1]), the chicken's box in each (N x 4, crop pixels)
    and the blocks pasted near it (N x MAX_BLOCKS x 3: centre x, centre y, and the larger side of the
    detected box the block covers, crop pixels; side 0 = none). A block's side is a fraction of that side."""

    crops: torch.Tensor
    boxes: torch.Tensor
    blocks: torch.Tensor

    def __len__(self) -> int:
        return len(self.crops)

    def to(self, device) -> Scenes:
        """Crops and boxes on `device`; the block places stay on the CPU, read as Python numbers."""
        return Scenes(self.crops.to(device), self.boxes.to(device), self.blocks)


def frame_scenes(detector: HunterDetector, frame: np.ndarray, chickens: np.ndarray,
                 rng: np.random.Generator | None = None) -> Scenes:
    """The scenes of one frame: each chicken box of `chickens` (the real ones, N x 4 frame pixels) at
    every pyramid level where it fills FILL of a window, with the places of blocks where the detector
    finds chickens in the frame. With `rng`, each crop's centre is moved off the chicken's by up to
    OFFSET of its side, so large blocks' edges and corners are seen too; without, crops are centred."""
    found = detector(frame).of_class("chicken").xyxy
    placed = np.concatenate([(found[:, :2] + found[:, 2:]) / 2, (found[:, 2:] - found[:, :2]).max(1, keepdims=True)], 1)
    crops, boxes, blocks = [], [], []
    levels = pyramid(frame, detector.scales_for(frame.shape[0]))
    # edge-padded by a whole crop, so a chicken at the frame's edge still gets a full crop
    padded = [np.pad(level.image, ((CROP, CROP), (CROP, CROP), (0, 0)), mode="edge") for level in levels]
    for box in np.asarray(chickens, float).reshape(-1, 4):
        for level, image in zip(levels, padded):
            if FILL[0] <= (box[3] - box[1]) / level.fy / WINDOW <= FILL[1]:
                offset = np.zeros(2) if rng is None else rng.uniform(-OFFSET, OFFSET, 2) * (box[2:] - box[:2]).max()
                _cut(level, image, box, offset, placed, crops, boxes, blocks)
    if not crops:
        return Scenes(torch.zeros(0, 3, CROP, CROP), torch.zeros(0, 4), torch.zeros(0, MAX_BLOCKS, 3))
    return Scenes(bgr_to_tensor(crops, torch.device("cpu")).contiguous(),
                  torch.tensor(np.array(boxes), dtype=torch.float32), torch.tensor(np.array(blocks), dtype=torch.float32))


def join(parts: Iterable[Scenes]) -> Scenes:
    parts = list(parts)
    return Scenes(*(torch.cat(column) for column in zip(*((p.crops, p.boxes, p.blocks) for p in parts))))


def _cut(level, padded, box, offset, placed, crops, boxes, blocks) -> None:
    """Append the CROP-sided cut of `level` (`padded` by CROP) centred `offset` (frame px) off the
    chicken `box`, with the box and the nearest blocks in the cut's pixels."""
    scale = np.array([1 / level.fx, 1 / level.fy])
    centre = ((box[:2] + box[2:]) / 2 + offset) * scale + BORDER
    origin = np.round(centre - CROP / 2).astype(int)
    crops.append(padded[origin[1] + CROP:origin[1] + 2 * CROP, origin[0] + CROP:origin[0] + 2 * CROP])
    boxes.append(np.concatenate([box[:2] * scale, box[2:] * scale]) + BORDER - np.tile(origin, 2))
    mine = np.zeros((MAX_BLOCKS, 3))
    if len(placed):
        xy = placed[:, :2] * scale + BORDER - origin
        nearest = np.argsort(np.abs(xy - CROP / 2).max(1))[:MAX_BLOCKS]
        # the pipeline pastes in detection order, later blocks over earlier ones
        nearest = np.sort(nearest)
        mine[:len(nearest)] = np.concatenate([xy[nearest], placed[nearest, 2:] * scale.mean()], 1)
    blocks.append(mine)


def render_scenes(block: torch.Tensor, scenes: Scenes, pick: torch.Tensor, generator: torch.Generator,
                  fractions: tuple[float, float] = LARGE_BLOCKS, jitter: float = 0.1,
                  brightness=Placement.brightness, noise: float = Placement.noise):
    """Paste `block` (1 x 3 x S x S, differentiably) into the picked scenes, its side a random fraction
    in `fractions` of each detected box's (one fraction per scene, as one pipeline pastes), each place
    moved and resized by up to `jitter` of its side; then vary brightness, add noise and cut out the
    GRID x GRID windows at one random input shift.

    Returns (B x 3 x (CROP - 8) x (CROP - 8) images, B x GRID x GRID bool: the window counts as the chicken).
    """
    n = len(pick)
    fraction = fractions[0] + (fractions[1] - fractions[0]) * torch.rand(n, 1, generator=generator)
    shake = jitter * (torch.rand(n, MAX_BLOCKS, 3, generator=generator) * 2 - 1)
    squares = placements(scenes, pick, fraction, shake)
    images = paste_in_scenes(block, scenes.crops[pick], squares)
    gain = brightness[0] + (brightness[1] - brightness[0]) * torch.rand(n, 1, 1, 1, generator=generator)
    images = (images * gain.to(images.device) + noise * torch.randn(images.shape, generator=generator).to(images.device))
    images = images.clamp(0, 1)
    dy, dx = torch.randint(0, STRIDE, (2,), generator=generator).tolist()
    return shifted(images, dy, dx), counted_windows(scenes.boxes[pick], squares.to(images.device), dy, dx)


def placements(scenes: Scenes, pick: torch.Tensor, fraction, shake: torch.Tensor | None = None) -> torch.Tensor:
    """The picked scenes' block squares (B x MAX_BLOCKS x 3: centre x, centre y, side; side 0 = none):
    sides `fraction` (a number or B x 1) of the detected boxes', moved by shake[..., :2] and resized
    by 1 + shake[..., 2] (fractions of the side)."""
    places = scenes.blocks[pick].clone()
    places[..., 2] *= torch.as_tensor(fraction, dtype=places.dtype)
    if shake is not None:
        places[..., :2] += places[..., 2:] * shake[..., :2]
        places[..., 2] *= 1 + shake[..., 2]
    return places


def paste_in_scenes(block: torch.Tensor, crops: torch.Tensor, squares: torch.Tensor) -> torch.Tensor:
    """Copies of `crops` with `block` pasted on each of their `squares` (see `placements`), in order."""
    images = []
    for crop, places in zip(crops, squares.tolist()):
        image = crop.clone()
        for x, y, side in places:
            if side > 0:
                _paste(image, block, x, y, side)
        images.append(image)
    return torch.stack(images)


def shifted(images: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """The crops cut to the GRID x GRID windows at input shift (dy, dx)."""
    side = CROP - STRIDE + 1
    return images[:, :, dy:dy + side, dx:dx + side]


def counted_windows(boxes: torch.Tensor, squares: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """B x GRID x GRID: which windows at input shift (dy, dx) the hunter would count as the chicken,
    their centre inside its box or inside a block's square grown by FOOTPRINT_GROWTH."""
    centres = STRIDE * torch.arange(GRID, device=boxes.device) + WINDOW / 2
    x, y = (centres + dx)[None, None, :], (centres + dy)[None, :, None]
    inside = ((x > boxes[:, 0, None, None]) & (x < boxes[:, 2, None, None])
              & (y > boxes[:, 1, None, None]) & (y < boxes[:, 3, None, None]))
    for cx, cy, side in squares.permute(1, 2, 0):   # per block place: B centres x, y and sides
        half = (FOOTPRINT_GROWTH * side / 2)[:, None, None]
        inside |= ((x - cx[:, None, None]).abs() < half) & ((y - cy[:, None, None]).abs() < half) & (half > 0)
    return inside


@torch.no_grad()
def scene_success_rate(model, block: torch.Tensor, scenes: Scenes, chicken: int, fraction: float,
                       threshold: float = 0.99) -> float:
    """Share of scenes, block pasted exactly where the pipeline would at side `fraction` of each
    detected box's, in which no counted window at any of the 9 input shifts is a chicken above the
    detector's `threshold`."""
    if not len(scenes):
        return float("nan")
    squares = placements(scenes, torch.arange(len(scenes)), fraction)
    images = paste_in_scenes(block[None], scenes.crops, squares)
    seen = torch.zeros(len(scenes), dtype=torch.bool, device=images.device)
    for dy in range(STRIDE):
        for dx in range(STRIDE):
            counted = counted_windows(scenes.boxes, squares.to(images.device), dy, dx)
            sure = model.dense_logits(shifted(images, dy, dx)).softmax(1)[:, chicken] > threshold
            seen |= (sure & counted).flatten(1).any(1)
    return float(1 - seen.float().mean())


def _paste(image: torch.Tensor, block: torch.Tensor, x: float, y: float, side: float) -> None:
    """In place: `block` scaled to `side` pixels (area when shrinking, nearest when growing, as the
    pipeline's nearest paste looks after the detector's area resize) and centred at (x, y)."""
    side = max(1, round(side))
    x0, y0 = round(x - side / 2), round(y - side / 2)
    h, w = image.shape[1:]
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x0 + side, w), min(y0 + side, h)
    if fx1 <= fx0 or fy1 <= fy0:
        return
    mode = "area" if side < block.shape[-1] else "nearest"
    scaled = F.interpolate(block, size=(side, side), mode=mode)[0]
    image[:, fy0:fy1, fx0:fx1] = scaled[:, fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]


def not_chicken_loss(logits: torch.Tensor, counted: torch.Tensor, chicken: int) -> torch.Tensor:
    """Mean -log(1 - p(chicken)) over the counted windows: large exactly where the hunter is sure."""
    log_p = logits.log_softmax(1)
    others = torch.cat([log_p[:, :chicken], log_p[:, chicken + 1:]], 1).logsumexp(1)   # log(1 - p)
    return -others[counted].mean() if counted.any() else logits.sum() * 0
