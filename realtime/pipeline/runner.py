"""The one frame loop every command runs: frames in, work on worker threads, results out in order.

    frames ──► chunks of same-sized frames ──► process(chunk) on `workers` threads ──► stages, in frame order

`process` is the stateless part (detect, defend, detect again: `DefendedPipeline.detect_and_defend`),
so several chunks may be in flight at once. Each stage (the live heatmap, drawing, sinks, a tally) is
called with every result in frame order on the calling thread; a stage that returns False ends the run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np

from realtime.pipeline.workers import InOrder, threads_per_worker

Stage = Callable[[Any], "bool | None"]


def chunks(frames: Iterable[np.ndarray], size: int) -> Iterator[list[np.ndarray]]:
    """Runs of up to `size` consecutive frames of one shape (a detector pass takes one size)."""
    chunk: list[np.ndarray] = []
    for frame in frames:
        if chunk and (len(chunk) == size or frame.shape != chunk[0].shape):
            yield chunk
            chunk = []
        chunk.append(frame)
    if chunk:
        yield chunk


def run(frames: Iterable[np.ndarray], process: Callable[[list[np.ndarray]], list], stages: list[Stage],
        workers: int = 1, batch_size: int = 1) -> int:
    """Run every frame through `process` and every result through `stages`; return the number of
    results the stages took. The frame source is closed however the run ends (a reader thread of
    a video is stopped before an interrupt reaches the caller)."""
    source = iter(frames)
    taken = 0

    def hand_over(results) -> bool:
        nonlocal taken
        for result in results:
            taken += 1
            if any(stage(result) is False for stage in stages):
                return False
        return True

    try:
        with InOrder(process, workers) as work, threads_per_worker(workers):
            for chunk in chunks(source, batch_size):
                work.submit(chunk)
                if work.full and not hand_over(work.next()):
                    return taken
            while work.pending:
                if not hand_over(work.next()):
                    return taken
    finally:
        close = getattr(source, "close", None)
        if close is not None:
            close()
    return taken
