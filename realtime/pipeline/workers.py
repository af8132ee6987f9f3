"""Several frames in flight on worker threads, results handed back in order.

On the CPU one frame's work (small convolutions, resizes) keeps two cores only partly busy, while
two frames at once, one per core, raise the throughput by a third (the live app) to two thirds (the
pipeline alone): that work is native code that releases the GIL. Anything stateful across frames (the streaming heatmap, drawing, writing) stays on
the caller's thread, in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager

import cv2
import torch

from engine.errors import SaviourError


class InOrder:
    """Runs `fn` on up to `workers` submissions at once; `next()` returns results in submission order.
    With one worker, `fn` runs on the caller's thread at submit time."""

    def __init__(self, fn: Callable, workers: int = 1):
        if workers < 1:
            raise SaviourError(f"workers must be at least 1, got {workers}")
        self.fn, self.workers = fn, workers
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="frame") if workers > 1 else None
        self.pending: deque[Future] = deque()

    def submit(self, *args) -> None:
        if self.pool is not None:
            self.pending.append(self.pool.submit(self.fn, *args))
            return
        done = Future()
        try:
            done.set_result(self.fn(*args))
        except Exception as error:   # handed over by next(), as the pool does
            done.set_exception(error)
        self.pending.append(done)

    @property
    def full(self) -> bool:
        return len(self.pending) >= self.workers

    def next(self):
        """The oldest submission's result (waits for it; re-raises its exception)."""
        return self.pending.popleft().result()

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> InOrder:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@contextmanager
def threads_per_worker(workers: int):
    """Share the CPU's intra-op threads, torch's and OpenCV's, among the workers for the duration
    (restored after): each library's own pool would otherwise start a thread per core for each worker."""
    before, before_cv = torch.get_num_threads(), cv2.getNumThreads()
    torch.set_num_threads(max(1, before // workers))
    cv2.setNumThreads(max(1, before_cv // workers))
    try:
        yield
    finally:
        torch.set_num_threads(before)
        cv2.setNumThreads(before_cv)
