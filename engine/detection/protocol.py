"""What the pipeline asks of a detector, and the optional extension a dense detector offers.

A detector has `labels` (the class names it reports, mapped onto the application's names: chicken,
pig, panda, ...) and is called with a list of same-sized BGR uint8 frames, returning one
`Detections` per frame. A detector may also offer incremental rescanning: `scan(frames)` returns
per frame a record with `.detections`, and `rescan(edited_frames, scans)` scores again only what an
edit changed (the hunter's dense detector does). The pipeline uses it when it is there.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

from engine.detection.detections import Detections


@runtime_checkable
class Detector(Protocol):
    labels: tuple[str, ...]

    def __call__(self, frames: list[np.ndarray]) -> list[Detections]: ...


def first_pass(detector, frames: list[np.ndarray]) -> list:
    """Per frame, the detector's record of its pass: a scan where the detector rescans, else its Detections."""
    return detector.scan(frames) if hasattr(detector, "rescan") else detector(frames)


def found(record) -> Detections:
    """The Detections of a `first_pass` record."""
    return record if isinstance(record, Detections) else record.detections


def second_pass(detector, frames: list[np.ndarray], records: list) -> list[Detections]:
    """Detections in edited copies of the frames of `records`: rescanned where the detector can."""
    if hasattr(detector, "rescan") and not isinstance(records[0], Detections):
        return [scan.detections for scan in detector.rescan(frames, records)]
    return detector(frames)
