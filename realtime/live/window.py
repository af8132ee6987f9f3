"""The live app's window: whether one can open, opening it, knowing when it was closed."""

from __future__ import annotations

import os
import sys

import cv2
import numpy as np

from engine.errors import SaviourError
from realtime.io.sink import Sink

WINDOW = "saviour live"
MIN_VIEW_HEIGHT = 360   # the HUD's three lines and the key help fit from here


def check_display() -> None:
    """Raise SaviourError when a window cannot open on this Linux session: without an X display,
    OpenCV's Qt window aborts the whole process instead of raising."""
    if sys.platform.startswith("linux") and not os.environ.get("DISPLAY"):
        raise SaviourError("no display to open a window on (DISPLAY is not set): add --no-window, or set DISPLAY")


def open_window() -> None:
    check_display()
    _use_system_fonts()
    try:
        cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE)
    except cv2.error:   # a headless OpenCV build has no windows at all
        raise SaviourError("this OpenCV build cannot open windows (opencv-python-headless?): add --no-window") from None


def _use_system_fonts() -> None:
    """opencv-python points Qt at a font folder its wheel no longer ships, and Qt then prints ten lines
    of warnings as the window opens; a system font folder, where there is one, keeps it quiet."""
    bundled = os.environ.get("QT_QPA_FONTDIR")
    if bundled and not os.path.isdir(bundled):
        system = next((f for f in ("/usr/share/fonts", "/usr/local/share/fonts") if os.path.isdir(f)), None)
        if system:
            os.environ["QT_QPA_FONTDIR"] = system


def window_closed() -> bool:
    """True once the user has closed the window (its close button), which then counts as quit."""
    try:
        return cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1
    except cv2.error:   # the window is gone altogether
        return True


def enlarged(view: np.ndarray, min_height: int = MIN_VIEW_HEIGHT) -> np.ndarray:
    """A view from a small source (a 200x120 screen region) scaled up by a whole factor, in blocky
    pixels, so that the HUD and the key help drawn on it afterwards fit and read."""
    factor = -(-min_height // view.shape[0])
    if factor <= 1:
        return view
    return cv2.resize(view, None, fx=factor, fy=factor, interpolation=cv2.INTER_NEAREST)


class Window(Sink):
    """The live view on screen, as a sink: `write` shows a frame; `close` removes the window unless
    the user already closed it with its close button."""

    def __init__(self):
        open_window()

    def write(self, frame: np.ndarray) -> None:
        cv2.imshow(WINDOW, frame)

    def close(self) -> None:
        if not window_closed():
            cv2.destroyWindow(WINDOW)

    abort = close
