"""Where a dense classifier's windows lie in an image: squares of `window` px every `stride` px,
as its convolutions and pools place them. A dense detector reads its grid from its classifier
(`input_size` and `stride`)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.models.hunter import HUNTER_INPUT_SIZE, HUNTER_STRIDE


@dataclass(frozen=True)
class WindowGrid:
    window: int
    stride: int

    @classmethod
    def of(cls, classifier) -> "WindowGrid":
        return cls(classifier.input_size, classifier.stride)

    @property
    def border(self) -> int:
        """Replicated pixels around a pyramid level, so windows can centre on its edge: half a window."""
        return self.window // 2

    def count(self, pixels: int) -> int:
        """Windows in `pixels` consecutive pixels."""
        return (pixels - self.window) // self.stride + 1

    def span(self, cells: int) -> int:
        """Pixels covered by `cells` consecutive windows."""
        return self.stride * (cells - 1) + self.window


HUNTER_GRID = WindowGrid(HUNTER_INPUT_SIZE, HUNTER_STRIDE)
