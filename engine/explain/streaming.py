"""RISE for video: a few masks per frame, accumulated with decay, so a live map converges over frames."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.explain.masks import generate_masks
from engine.explain.rise import neutral_input
from engine.explain.targets import as_target

CUT_THUMBNAIL = 16


class StreamingRise:
    """A running RISE map of a video stream.

    Each `update(frame)` scores the next `per_frame` masks of a fixed bank of N and adds them to a
    decaying sum, so on a still scene the map converges to the N-mask map in about N / per_frame frames.
    A scene cut (mean absolute change of a 16 x 16 thumbnail above `cut_threshold`) starts afresh.
    The returned map is scaled by a slowly tracked range, not by each frame's own min and max, so
    colours do not flicker.

    Args:
        model: callable from an image batch (B x C x H x W in [0, 1]) to an output batch.
        size: (H, W) of the frames it will see.
        target: what to explain, as for `rise` (a class index or a callable returning one score each).
        n, s, p1: the mask bank.
        per_frame: masks scored per update.
        decay: weight of the past per update (default 1 - per_frame / n: about one bank's worth of memory).
        range_rate: how fast the colour range follows the map (0: fixed at `value_range`).
        value_range: initial (low, high) of the colour range.
    """

    def __init__(self, model, size: tuple[int, int], target, n: int = 512, s: int = 8, p1: float = 0.5,
                 per_frame: int = 8, decay: float | None = None, cut_threshold: float = 0.12,
                 range_rate: float = 0.05, value_range: tuple[float, float] | None = None,
                 generator: torch.Generator | None = None, device: str | torch.device | None = None):
        self.model, self.score, self.p1 = model, as_target(target), p1
        self.masks = generate_masks(n, s, p1, size, generator=generator, device=device)
        self.per_frame = min(per_frame, n)
        self.decay = 1 - self.per_frame / n if decay is None else decay
        self.cut_threshold, self.range_rate = cut_threshold, range_rate
        self.baseline = neutral_input(model)
        self.initial_range = value_range
        self.range = list(value_range) if value_range else None
        self.cursor, self.cuts = 0, 0
        self.reset()

    def reset(self) -> None:
        """Forget the accumulated map (a new scene)."""
        self.total, self.weight, self.previous = 0.0, 0.0, None

    @torch.no_grad()
    def update(self, frame: torch.Tensor) -> torch.Tensor:
        """Add one frame (C x H x W in [0, 1]); return the current raw map (H x W)."""
        self._detect_cut(frame)
        index = (self.cursor + torch.arange(self.per_frame, device=self.masks.device)) % len(self.masks)
        self.cursor = int(index[-1]) + 1
        chunk = self.masks[index]
        scores = self.score(self.model(frame.unsqueeze(0) * chunk + self.baseline * (1 - chunk))).float()
        contribution = (scores.reshape(-1, 1) * chunk.flatten(1)).sum(0).view(chunk.shape[-2:])
        self.total = self.decay * self.total + contribution
        self.weight = self.decay * self.weight + self.per_frame * self.p1
        return self.map

    @property
    def map(self) -> torch.Tensor:
        return self.total / self.weight

    def normalised(self) -> torch.Tensor:
        """The current map scaled to [0, 1] by the tracked range."""
        current = self.map
        low, high = float(current.min()), float(current.max())
        if self.range is None:
            self.range = [low, high]
        elif self.range_rate:
            self.range[0] += self.range_rate * (low - self.range[0])
            self.range[1] += self.range_rate * (high - self.range[1])
        span = max(self.range[1] - self.range[0], 1e-6)
        return ((current - self.range[0]) / span).clamp(0, 1)

    def _detect_cut(self, frame: torch.Tensor) -> None:
        thumbnail = F.adaptive_avg_pool2d(frame.float().unsqueeze(0), CUT_THUMBNAIL)
        if self.previous is not None and (thumbnail - self.previous).abs().mean() > self.cut_threshold:
            self.reset()
            self.cuts += 1
            self.range = list(self.initial_range) if self.initial_range else None
        self.previous = thumbnail
