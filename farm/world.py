"""The farm world: a procedural, seeded, Minecraft-like scene with walking animals.

The camera is fixed, so the sky and the perspective grass are rendered once; a frame is a copy of
that background with the animals pasted far to near. Animal motion is simulated step by step from
the seed, so `render(i)` is deterministic whatever order frames are asked in.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass

import cv2
import numpy as np

from farm.sprites import HEIGHT_BLOCKS, sprite_sheet

SKY_BGR = np.array([0xFF, 0xC8, 0xAF], np.float32)
GRASS_DARK_BGR = np.array([0x2A, 0x7A, 0x4A], np.float32)
GRASS_LIGHT_BGR = np.array([0x3A, 0x9A, 0x6A], np.float32)
TEXELS_PER_BLOCK = 16
SPEED_BLOCKS_PER_S = {"chicken": 0.8, "pig": 1.0, "panda": 0.6}
FAR_ANIMAL_PX = 10 / 360    # a chicken at the far edge, as a fraction of the frame height
NEAR_ANIMAL_PX = 0.5        # a panda at the near edge


@dataclass(frozen=True)
class Animal:
    """One animal as seen in a frame.

    Attributes:
        label: species name (chicken, pig or panda).
        xyxy: the animal's box in frame pixels, clipped to the frame.
        visible: fraction of the animal's pixels that are visible (not off-frame, not occluded).
        depth: distance from the camera in world units (larger is farther).
    """

    label: str
    xyxy: tuple[float, float, float, float]
    visible: float
    depth: float

    @property
    def height(self) -> float:
        return self.xyxy[3] - self.xyxy[1]


def apply_lighting(frame: np.ndarray, brightness: float = 1.0, tint=(1.0, 1.0, 1.0),
                   noise: float = 0.0, rng: np.random.Generator | None = None) -> np.ndarray:
    """Scale a BGR frame by brightness and an RGB tint, then add Gaussian noise of std `noise` levels."""
    gains = brightness * np.array(tint[::-1], np.float32)
    if not np.allclose(gains, 1.0):
        lut = np.clip(np.arange(256, dtype=np.float32)[:, None] * gains, 0, 255).astype(np.uint8)
        frame = cv2.LUT(frame, lut[None])
    if noise > 0:
        rng = rng or np.random.default_rng()
        noisy = rng.standard_normal(frame.shape, np.float32)
        noisy *= noise          # in place: the frame-sized temporaries cost more than the arithmetic
        noisy += frame
        frame = np.clip(noisy, 0, 255, out=noisy).astype(np.uint8)
    return frame


class FarmWorld:
    """A deterministic farm scene.

    Args:
        seed: selects the layout, the grass and every animal's path.
        size: frame (width, height) in pixels.
        chickens, pigs, pandas: how many of each animal roam the field.
        brightness, tint, noise: lighting and sensor noise applied to every frame (see `apply_lighting`).
        frames: number of frames when iterated; None for an unbounded world.
        fps: frames per second of simulated time (sets walking speed per frame).

    Example:
        >>> world = FarmWorld(seed=0)
        >>> frame, animals = world.render(0)
    """

    def __init__(self, seed: int = 0, size: tuple[int, int] = (640, 360), chickens: int = 3,
                 pigs: int = 2, pandas: int = 1, brightness: float = 1.0, tint=(1.0, 1.0, 1.0),
                 noise: float = 0.0, frames: int | None = None, fps: float = 30.0):
        width, height = size
        if width < 32 or height < 32:
            raise ValueError(f"world size must be at least 32x32 pixels, got {width}x{height}")
        self.seed, self.size, self.frames, self.fps = seed, (width, height), frames, fps
        self.brightness, self.tint, self.noise = brightness, tuple(tint), noise
        rng = np.random.default_rng([seed, 0])
        self._horizon = height * rng.uniform(0.2, 0.3)
        self._bend = height * rng.uniform(0.01, 0.03)
        self._near_px = NEAR_ANIMAL_PX * height / HEIGHT_BLOCKS["panda"]   # pixels per block at depth 1
        self._far_depth = self._near_px / (FAR_ANIMAL_PX * height / HEIGHT_BLOCKS["chicken"])
        self._camera_height = (height * 1.02 - self._horizon) / self._near_px
        self._background = self._paint_background(rng)
        self._sprites = sprite_sheet()
        self.species = ["chicken"] * chickens + ["pig"] * pigs + ["panda"] * pandas
        self._paths = _Paths(self, rng)

    def __len__(self) -> int:
        return self.frames if self.frames is not None else sys.maxsize

    def __iter__(self):
        i = 0
        while self.frames is None or i < self.frames:
            yield self.render(i)
            i += 1

    def horizon_y(self, x: np.ndarray) -> np.ndarray:
        """The horizon's row at column(s) x: slightly curved, lowest at the edges."""
        half = self.size[0] / 2
        return self._horizon + self._bend * ((x - half) / half) ** 2

    def x_limit(self, depth: np.ndarray) -> np.ndarray:
        """Half-width of the visible ground at `depth`, in blocks."""
        return self.size[0] / 2 * depth / self._near_px

    def render(self, i: int) -> tuple[np.ndarray, list[Animal]]:
        """Render frame i: returns (BGR uint8 frame, the animals with their boxes)."""
        frame = self._background.copy()
        owner = np.zeros(frame.shape[:2], np.uint8)
        state = self._paths.at(i)
        placed = []
        for k in np.argsort(-state.depth, kind="stable"):
            placed.append((k, self._paste(frame, owner, k + 1, state, int(k))))
        animals = []
        for k, (box, pixels) in sorted(placed):
            x0, y0, x1, y1 = box
            seen = np.count_nonzero(owner[max(y0, 0):y1, max(x0, 0):x1] == k + 1) if x1 > 0 and y1 > 0 else 0
            w, h = self.size
            clipped = (float(max(x0, 0)), float(max(y0, 0)), float(min(x1, w)), float(min(y1, h)))
            if seen and clipped[2] > clipped[0] and clipped[3] > clipped[1]:
                animals.append(Animal(self.species[k], clipped, seen / pixels, float(state.depth[k])))
        rng = np.random.default_rng([self.seed, 1, i]) if self.noise > 0 else None
        return apply_lighting(frame, self.brightness, self.tint, self.noise, rng), animals

    def _paste(self, frame, owner, ident, state, k):
        species = self.species[k]
        px_per_block = self._near_px / state.depth[k]
        texels, mask = self._sprites[species, state.view(k), state.step[k]]
        h = max(2, int(round(HEIGHT_BLOCKS[species] * px_per_block)))
        w = max(2, int(round(h * texels.shape[1] / texels.shape[0])))
        cx = self.size[0] / 2 + state.x[k] * px_per_block
        feet = self.horizon_y(cx) + self._camera_height * px_per_block
        x0, y0 = int(round(cx - w / 2)), int(round(feet - h))
        box = (x0, y0, x0 + w, y0 + h)
        fx0, fy0 = max(x0, 0), max(y0, 0)
        fx1, fy1 = min(x0 + w, self.size[0]), min(y0 + h, self.size[1])
        mask_px = cv2.resize(mask.view(np.uint8), (w, h), interpolation=cv2.INTER_NEAREST).astype(bool)
        if fx1 > fx0 and fy1 > fy0:
            bgr = cv2.resize(texels, (w, h), interpolation=cv2.INTER_NEAREST)
            region = (slice(fy0 - y0, fy1 - y0), slice(fx0 - x0, fx1 - x0))
            where = mask_px[region]
            np.copyto(frame[fy0:fy1, fx0:fx1], bgr[region], where=where[..., None])
            owner[fy0:fy1, fx0:fx1][where] = ident
        return box, max(int(mask_px.sum()), 1)

    def _paint_background(self, rng: np.random.Generator) -> np.ndarray:
        w, h = self.size
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        below = ys - self.horizon_y(xs)
        t = np.clip(1 - ys / max(self._horizon, 1), 0, 1)[..., None]
        sky = SKY_BGR * (1 - 0.12 * t) + np.array([255, 255, 255], np.float32) * 0.12 * (1 - t)
        px_per_block = np.maximum(below, 0.5) / self._camera_height
        depth = self._near_px / px_per_block
        u = np.floor((xs - w / 2) / px_per_block * TEXELS_PER_BLOCK).astype(np.int64)
        v = np.floor(depth * TEXELS_PER_BLOCK).astype(np.int64)
        mottle = _hash01(u, v, rng.integers(1 << 30))[..., None]
        grass = GRASS_DARK_BGR + (GRASS_LIGHT_BGR - GRASS_DARK_BGR) * mottle
        edge = ((u % TEXELS_PER_BLOCK == 0) | (v % TEXELS_PER_BLOCK == 0))[..., None]
        grass = np.where(edge, grass * 0.85, grass)
        texel_px = (px_per_block / TEXELS_PER_BLOCK)[..., None]
        blend = np.clip(texel_px / 1.5, 0, 1)   # texels under a pixel fade to the mean green
        grass = grass * blend + (GRASS_DARK_BGR + GRASS_LIGHT_BGR) / 2 * (1 - blend)
        image = np.where((below > 0)[..., None], grass, sky)
        return np.clip(image, 0, 255).astype(np.uint8)


def _hash01(u: np.ndarray, v: np.ndarray, salt: int) -> np.ndarray:
    """A deterministic pseudo-random value in [0, 1) per integer texel coordinate."""
    x = (u * 73856093) ^ (v * 19349663) ^ salt
    x = (x ^ (x >> 13)) * 1274126177
    return ((x ^ (x >> 16)) & 0xFFFF).astype(np.float32) / 65536.0


class _State:
    """Positions of all animals at one frame."""

    def __init__(self, x, depth, heading, step):
        self.x, self.depth, self.heading, self.step = x, depth, heading, step

    def view(self, k: int) -> str:
        dx, dz = np.cos(self.heading[k]), np.sin(self.heading[k])
        if abs(dx) >= 0.5:
            return "right" if dx > 0 else "left"
        return "front" if dz < 0 else "back"


class _Paths:
    """Seeded random walks (walk, stop, turn) of all animals, simulated on demand.

    Only the newest step and a snapshot every `spacing` frames (about 4 KB each) are kept, not every
    frame's positions; asking for an earlier frame replays the walk from the snapshot before it. The
    spacing starts at CHECKPOINT frames and doubles whenever more than MAX_SNAPSHOTS are kept, so an
    endless live run holds about 1 MB of snapshots, not 11 MB more every day at 30 FPS.
    """

    MARGIN_BLOCKS = 1.5   # animals roam a little beyond the view so they leave and re-enter it
    CHECKPOINT = 1000
    MAX_SNAPSHOTS = 256

    def __init__(self, world: FarmWorld, rng: np.random.Generator):
        n = len(world.species)
        self.world = world
        self.rngs = [np.random.default_rng([world.seed, 2, k]) for k in range(n)]
        self.speed = np.array([SPEED_BLOCKS_PER_S[s] / world.fps for s in world.species])
        depth = rng.uniform(1.0, world._far_depth, n)
        x = rng.uniform(-1, 1, n) * world.x_limit(depth)
        heading = rng.uniform(0, 2 * np.pi, n)
        self.timer = np.zeros(n, np.int64)
        self.moving = np.zeros(n, bool)
        self._index, self._pose = 0, (x, depth, heading, np.zeros(n))
        self._snapshots, self._spacing = {}, self.CHECKPOINT
        self._snapshot()

    def at(self, i: int) -> _State:
        if i < 0:
            raise IndexError(f"frame index must be non-negative, got {i}")
        if i < self._index:
            self._restore(i - i % self._spacing)
        while self._index < i:
            self._pose = self._advance(*self._pose)
            self._index += 1
            if self._index % self._spacing == 0:
                self._snapshot()
        x, depth, heading, distance = self._pose
        return _State(x, depth, heading, (distance * 4).astype(np.int64) % 2)

    def _snapshot(self) -> None:
        # poses are never changed in place (`_advance` copies them); the timers and generators are
        states = [rng.bit_generator.state for rng in self.rngs]
        self._snapshots[self._index] = (self._pose, self.timer.copy(), self.moving.copy(), states)
        if len(self._snapshots) > self.MAX_SNAPSHOTS:
            # every multiple of the spacing up to here has a snapshot, so every multiple of twice it does too
            self._spacing *= 2
            self._snapshots = {k: v for k, v in self._snapshots.items() if k % self._spacing == 0}

    def _restore(self, index: int) -> None:
        self._pose, timer, moving, states = self._snapshots[index]
        self._index, self.timer, self.moving = index, timer.copy(), moving.copy()
        for rng, state in zip(self.rngs, states):
            rng.bit_generator.state = state

    def _advance(self, x, depth, heading, distance):
        x, depth, heading, distance = x.copy(), depth.copy(), heading.copy(), distance.copy()
        for k, rng in enumerate(self.rngs):
            if self.timer[k] <= 0:
                self.moving[k] = rng.random() > 0.3
                seconds = rng.uniform(1.0, 4.0) if self.moving[k] else rng.uniform(0.5, 2.5)
                self.timer[k] = int(seconds * self.world.fps)
                heading[k] += rng.normal(0, 1.0) if rng.random() > 0.3 else rng.uniform(0, 2 * np.pi)
            self.timer[k] -= 1
        step = self.speed * self.moving
        x += step * np.cos(heading)
        depth += step * np.sin(heading)
        distance += step
        limit = self.world.x_limit(depth) + self.MARGIN_BLOCKS
        out_x = np.abs(x) > limit
        out_z = (depth < 1.0) | (depth > self.world._far_depth)
        heading = np.where(out_x, np.pi - heading, heading)
        heading = np.where(out_z, -heading, heading)
        x = np.clip(x, -limit, limit)
        depth = np.clip(depth, 1.0, self.world._far_depth)
        return x, depth, heading, distance
