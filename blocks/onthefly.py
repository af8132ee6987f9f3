"""On-the-fly defence, as in the source notebook's "after" recording: no precomputed block, but one
FGSM step toward terrain on each detected chicken's region, within a pixel budget.

The gradient goes through the detector's own view of the frame (every pyramid level, differentiably
resized and padded as the detector does), so the step targets exactly the windows that saw a chicken.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.detection.hunter import HunterDetector, bgr_to_tensor

MARGIN = 0.25   # the stepped region: each chicken box grown by this share of its size on every side


def fgsm_chickens(detector: HunterDetector, frame: np.ndarray, xyxy: np.ndarray, eps: float,
                  target: str = "terrain", protect: str = "chicken") -> None:
    """In place: frame - eps * sign(grad of the loss toward `target`) inside each (grown) box of the
    protected class, stepping the windows that see it."""
    if not len(xyxy):
        return
    classifier = detector.classifier
    x = bgr_to_tensor([frame], detector.device).requires_grad_(True)
    chicken, goal = classifier.labels.index(protect), classifier.labels.index(target)
    loss = 0.0
    for scale in detector.scales_for(frame.shape[0]):
        size = (round(frame.shape[0] * scale), round(frame.shape[1] * scale))
        if min(size) < detector.grid.window:
            continue
        level = F.pad(F.interpolate(x, size=size, mode="bilinear", antialias=True, align_corners=False),
                      [detector.grid.border] * 4, mode="replicate")
        logits = classifier.dense_logits(level)
        seen = logits.softmax(1)[:, chicken] > 0.5
        if seen.any():
            targets = torch.full(seen.shape, goal, device=x.device)
            loss = loss + F.cross_entropy(logits, targets, reduction="none")[seen].sum()
    if not torch.is_tensor(loss):
        return
    gradient, = torch.autograd.grad(loss, x)
    step = (-eps * 255 * gradient.sign())[0].flip(0).permute(1, 2, 0).cpu().numpy()   # RGB -> BGR, HWC
    inside = _region(xyxy, frame.shape)
    frame[inside] = np.clip(frame[inside] + step[inside], 0, 255).astype(np.uint8)


def _region(xyxy: np.ndarray, shape) -> np.ndarray:
    inside = np.zeros(shape[:2], bool)
    grown = np.concatenate([xyxy[:, :2] - MARGIN * (xyxy[:, 2:] - xyxy[:, :2]),
                            xyxy[:, 2:] + MARGIN * (xyxy[:, 2:] - xyxy[:, :2])], 1)
    for x0, y0, x1, y1 in np.round(grown).astype(int):
        inside[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
    return inside
