"""RISE for video: a few masks per frame, accumulated with decay, so a live map converges over frames."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from engine.explain.masks import generate_masks
from engine.explain.rise import check_estimator, masked_images, neutral_input
from engine.explain.targets import as_target

CUT_THUMBNAIL = 16


class ColourRange:
    """A (low, high) range for showing maps that follows their min and max slowly; streams may share one,
    so that two maps drawn side by side use the same colours for the same evidence."""

    def __init__(self, rate: float = 0.05, initial: tuple[float, float] | None = None):
        self.rate, self.initial = rate, initial
        self.reset()

    def reset(self) -> None:
        self.low, self.high = self.initial if self.initial else (None, None)

    def follow(self, values: torch.Tensor) -> None:
        low, high = float(values.min()), float(values.max())
        if self.low is None:
            self.low, self.high = low, high
        else:
            self.low += self.rate * (low - self.low)
            self.high += self.rate * (high - self.high)

    def scale(self, values: torch.Tensor) -> torch.Tensor:
        """`values` mapped to [0, 1] (clipped) by the current range (their own, until one is followed)."""
        low, high = (self.low, self.high) if self.low is not None else (float(values.min()), float(values.max()))
        return ((values - low) / max(high - low, 1e-9)).clamp(0, 1)


class StreamingRise:
    """A running RISE map of a video stream.

    Each `update(frame)` scores the next `per_frame` masks of a fixed bank of N and adds them to
    decaying sums, so on a still scene the map converges to the N-mask map in about N / per_frame frames
    (the centred estimator's map, by default, which settles in fewer: see engine.explain.rise).
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
        colours: the ColourRange to scale the map by (a new one when None); several streams may share one.
        follow_colours: whether this stream moves the range toward its map (False: it only reads it).
        estimator, sampler: as for `rise` (centred, Sobol masks by default).
    """

    def __init__(self, model, size: tuple[int, int], target, n: int = 512, s: int = 8, p1: float = 0.5,
                 per_frame: int = 8, decay: float | None = None, cut_threshold: float = 0.12,
                 colours: ColourRange | None = None, follow_colours: bool = True,
                 generator: torch.Generator | None = None, device: str | torch.device | None = None,
                 estimator: str = "centred", sampler: str = "sobol"):
        self.model, self.score, self.p1 = model, as_target(target), p1
        check_estimator(estimator)
        self.centred = estimator == "centred"
        self.masks = generate_masks(n, s, p1, size, generator=generator, device=device, sampler=sampler)
        self.per_frame = min(per_frame, n)
        self.decay = 1 - self.per_frame / n if decay is None else decay
        self.cut_threshold = cut_threshold
        self.baseline = neutral_input(model)
        self.colours = ColourRange() if colours is None else colours
        self.follow_colours = follow_colours
        self.cursor, self.cuts = 0, 0
        self.reset()

    def reset(self) -> None:
        """Forget the accumulated map (a new scene)."""
        # decayed sums over the masks scored so far: of score x mask, score, mask, and of one per mask
        self.total, self.score_total, self.mask_total, self.count = 0.0, 0.0, 0.0, 0.0
        self.previous = None

    @torch.no_grad()
    def update(self, frame: torch.Tensor) -> torch.Tensor:
        """Add one frame (C x H x W in [0, 1]); return the current raw map (H x W)."""
        self._detect_cut(frame)
        index = (self.cursor + torch.arange(self.per_frame, device=self.masks.device)) % len(self.masks)
        self.cursor = int(index[-1]) + 1
        chunk = self.masks[index]
        masked = masked_images(frame, chunk, self.baseline)
        scores = self.score(self.model(masked)).float()
        contribution = (scores.reshape(-1, 1) * chunk.flatten(1)).sum(0).view(chunk.shape[-2:])
        self.total = self.decay * self.total + contribution
        self.score_total = self.decay * self.score_total + scores.sum()
        self.mask_total = self.decay * self.mask_total + chunk.sum((0, 1))
        self.count = self.decay * self.count + self.per_frame
        return self.map

    @property
    def map(self) -> torch.Tensor:
        total = self.total - self.score_total * self.mask_total / self.count if self.centred else self.total
        return total / (self.count * self.p1)

    def normalised(self) -> torch.Tensor:
        """The current map scaled to [0, 1] by the colour range (moved toward it first, if this stream follows it)."""
        if self.follow_colours:
            self.colours.follow(self.map)
        return self.colours.scale(self.map)

    def _detect_cut(self, frame: torch.Tensor) -> None:
        thumbnail = F.adaptive_avg_pool2d(frame.float().unsqueeze(0), CUT_THUMBNAIL)
        if self.previous is not None and (thumbnail - self.previous).abs().mean() > self.cut_threshold:
            self.reset()
            self.cuts += 1
            if self.follow_colours:
                self.colours.reset()
        self.previous = thumbnail
