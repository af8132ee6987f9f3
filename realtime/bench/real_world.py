"""`saviour bench` rows of the real-world mode: the class-evidence detector and the defended pipeline
with its evidence heatmap, on photos scikit-image ships, panned and zoomed into camera-like frames."""

from __future__ import annotations

import time

import numpy as np
import torch
from skimage import data

from blocks.choices import DEFAULT_LIBRARY
from blocks.library import BlockLibrary
from engine.detection.evidence import EvidenceDetector
from engine.models import load_classifier
from engine.models.checkpoint import state_sha256
from realtime.bench.explain import sync
from realtime.pipeline.defended import pipeline_for
from realtime.pipeline.heatmap import EvidenceHeatmap
from realtime.pipeline.overlay import side_by_side

PHOTOS = ("chelsea", "coffee", "astronaut", "rocket")
LITE0 = "efficientnet_lite0"


def camera_frames(count: int, size: tuple[int, int]) -> list[np.ndarray]:
    """`count` BGR frames of `size` (width, height): a pan and zoom over each scikit-image photo in turn."""
    from realtime.commands.photo_demo import pan_zoom

    per_photo = -(-count // len(PHOTOS))
    frames = [frame for name in PHOTOS
              for frame in pan_zoom(np.ascontiguousarray(getattr(data, name)()[..., ::-1]), per_photo, size)]
    return frames[:count]


def pipeline_fps(detector, library, mode: str, frames: list[np.ndarray]) -> float:
    """Detect, cover, detect again, take the evidence heatmap and draw both panels, per frame in order."""
    pipeline = pipeline_for(detector, library, mode, heatmap=EvidenceHeatmap())
    pipeline(frames[0])
    start = time.perf_counter()
    for frame in frames:
        side_by_side(pipeline(frame), mode)
    sync(detector.device)
    return len(frames) / (time.perf_counter() - start)


def detector_fps(detector, frames: list[np.ndarray]) -> float:
    detector(frames[0])
    start = time.perf_counter()
    for frame in frames:
        detector(frame)
    sync(detector.device)
    return len(frames) / (time.perf_counter() - start)


def real_world_rows(device: torch.device, frames: int) -> list[tuple[str, float, str]]:
    """EfficientNet-Lite0 at 640x360 with its shipped patch; on CUDA also ResNet-50 at 1280x720 (random
    weights: speed does not depend on them, and a GPU machine may have no network to fetch them)."""
    model = load_classifier(LITE0, device=device)
    library = BlockLibrary.load(DEFAULT_LIBRARY, model.labels, model.input_size, state_sha256(model), model=LITE0)
    detector = EvidenceDetector(model)
    small = camera_frames(frames, (640, 360))
    rows = [(f"real-world detector, {LITE0} 640x360 ({device.type})", detector_fps(detector, small), "frames/s"),
            (f"real-world pipeline, patch + evidence heatmap 640x360 ({device.type})",
             pipeline_fps(detector, library, "patch", small), "frames/s")]
    if device.type == "cuda":
        resnet = EvidenceDetector(load_classifier("torchvision:resnet50", device=device, pretrained=False))
        large = camera_frames(frames, (1280, 720))
        rows.append(("real-world pipeline, ResNet-50, cover + evidence heatmap 1280x720 (cuda)",
                     pipeline_fps(resnet, BlockLibrary([]), "occlusion", large), "frames/s"))
    return rows
