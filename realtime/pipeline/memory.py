"""Keeping a long run's resident memory flat.

glibc keeps memory freed by the per-frame buffers (pyramid levels, tensors, drawn panels) in its
heaps instead of returning it to the system, and fragmentation across threads' heaps can make the
resident size climb without bound: 620 MB to 3.4 GB over 3000 detector calls in one measured run,
while an identical run stayed at 620 MB. Asking glibc to hand free pages back every so often keeps
it flat (about 610 MB over the same run) for about 0.1 ms per frame.
"""

from __future__ import annotations

import ctypes
import ctypes.util

TRIM_EVERY = 100   # frames


def _malloc_trim():
    name = ctypes.util.find_library("c")
    try:
        return ctypes.CDLL(name).malloc_trim if name else None
    except (OSError, AttributeError):   # not glibc (macOS, Windows, musl): nothing to do
        return None


class HeapTrimmer:
    """Call `tick()` once per frame; every TRIM_EVERY frames free heap pages go back to the system."""

    _trim = _malloc_trim()

    def __init__(self, every: int = TRIM_EVERY):
        self.every, self.frames = every, 0

    def tick(self) -> None:
        self.frames += 1
        if self._trim is not None and self.frames % self.every == 0:
            self._trim(0)
