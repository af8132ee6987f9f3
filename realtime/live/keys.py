"""The live app's keys: what each one switches, and the help overlay that lists them."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from realtime.pipeline.overlay import WHITE, YELLOW, put_label

VIEWS = ("side by side", "after", "before")
KEY_HELP = (("q / Esc", "quit"), ("b", "blocks on/off"), ("d", "decoys on/off"), ("h", "heatmap on/off"),
            ("v", "cycle view"), ("space", "pause"), ("s", "snapshot PNG"), ("r", "record MP4 + GIF"),
            ("?", "this help"))
ESC = 27


@dataclass
class LiveState:
    """What the keys switch."""

    blocks: bool = True
    decoys: bool = False
    heatmap: bool = False
    view: int = 0
    paused: bool = False
    help: bool = False
    quit: bool = False
    cover: str = "camouflage"     # what b switches on: the hunter's camouflage, or an ImageNet model's patch

    def modes(self) -> tuple[str, ...]:
        """Every mode the keys b and d reach (a patch has no decoys)."""
        if self.cover == "patch":
            return ("patch", "none")
        return ("camouflage+decoys", "camouflage", "decoys", "none")

    @property
    def mode(self) -> str:
        if self.cover == "patch":
            return "patch" if self.blocks else "none"
        return {(True, True): "camouflage+decoys", (True, False): "camouflage",
                (False, True): "decoys", (False, False): "none"}[(self.blocks, self.decoys)]


def handle_key(state: LiveState, key: int) -> str | None:
    """Apply one key press to `state`; returns "snapshot" or "record" for the actions the loop performs."""
    char = chr(key) if 0 <= key < 256 else ""
    if key == ESC or char == "q":
        state.quit = True
    elif char == "b":
        state.blocks = not state.blocks
    elif char == "d":
        state.decoys = not state.decoys
    elif char == "h":
        state.heatmap = not state.heatmap
    elif char == "v":
        state.view = (state.view + 1) % len(VIEWS)
    elif char == " ":
        state.paused = not state.paused
    elif char == "?":
        state.help = not state.help
    elif char == "s":
        return "snapshot"
    elif char == "r":
        return "record"
    return None


def draw_help(shown: np.ndarray) -> None:
    """The key list in two columns on a darkened box at the top centre, readable over any scene."""
    left, top, line = shown.shape[1] // 2 - 100, 48, 18   # below the panel titles
    bottom = min(shown.shape[0], top + line * len(KEY_HELP) + 6)
    box = shown[top - 14:bottom, max(0, left - 10):left + 190]
    box[:] = box // 4
    for i, (key, action) in enumerate(KEY_HELP):
        y = top + 4 + line * i
        put_label(shown, key, (left, y), YELLOW, 0.5)
        put_label(shown, action, (left + 70, y), WHITE, 0.5)


