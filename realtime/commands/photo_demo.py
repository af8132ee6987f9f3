"""`saviour demo --model M --images DIR`: the before/after demo of the real-world mode on still photos.

Each photo that shows the model a chicken is filmed by a slow pan and zoom, so it plays like camera
footage. Every frame goes through four pipelines from one clean detection: no defence, the library's
adversarial patch, a patch of random pixels of the same size, and a grey square; the summary gives the
share of frames in which the model still finds a chicken with each.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import cv2
import numpy as np
from tqdm import tqdm

from engine.detection.evidence import CLASS_MAP
from engine.device import resolve_device
from engine.errors import SaviourError
from engine.files import write_atomically
from engine.images import image_files
from realtime.commands.setup import detector_and_library, live_heatmap
from realtime.io.sinks import GifSink, VideoSink
from realtime.io.video import prepare_output
from realtime.pipeline.defended import pipeline_for
from realtime.pipeline.overlay import side_by_side

COLUMNS = ("none", "patch", "random-patch", "occlusion")
FRAME_SIZE = (640, 360)
FPS = 30.0
ZOOM = 1.3               # the view closes in from the whole photo to 1 / ZOOM of it


def pan_zoom(photo: np.ndarray, frames: int, size=FRAME_SIZE):
    """`frames` views of `photo` at `size`: the widest 16:9 window, closing in by ZOOM while it drifts
    from the photo's left third to its right third."""
    height, width = photo.shape[:2]
    aspect = size[0] / size[1]
    full_w, full_h = (width, width / aspect) if width / height < aspect else (height * aspect, height)
    for i in range(frames):
        t = i / max(1, frames - 1)
        w, h = full_w / (1 + (ZOOM - 1) * t), full_h / (1 + (ZOOM - 1) * t)
        x = (width - w) * (0.35 + 0.3 * t)
        y = (height - h) / 2
        warp = np.float32([[size[0] / w, 0, -x * size[0] / w], [0, size[1] / h, -y * size[1] / h]])
        yield cv2.warpAffine(photo, warp, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)


def chicken_photos(detector, files: list[Path], limit: int, progress=None) -> list[tuple[Path, np.ndarray]]:
    """The first `limit` readable photos of chickens: the model's likeliest class for the first
    pan-and-zoom frame is one of the chicken's (hen, cock) and the detector finds one in it."""
    chosen, chicken = [], set(CLASS_MAP["chicken"])
    for file in files:
        photo = cv2.imread(str(file), cv2.IMREAD_COLOR)
        found = detector(next(pan_zoom(photo, 1))) if photo is not None else None
        if found is not None and len(found.of_class("chicken")) and found.top_classes[0][0] in chicken:
            chosen.append((file, photo))
        if progress is not None:
            progress.update()
        if len(chosen) == limit:
            break
    return chosen


def photo_demo(args: argparse.Namespace) -> None:
    if args.images is None:
        raise SaviourError(f"--model {args.model}: the real-world demo films photos; give --images DIR")
    files = image_files(args.images)
    detector, library = detector_and_library(args, resolve_device(args.device))
    heatmaps = {mode: live_heatmap(detector) for mode in COLUMNS} if args.heatmap == "rise" else {}
    pipelines = {mode: pipeline_for(detector, library, mode, args.fraction, heatmap=heatmaps.get(mode))
                 for mode in COLUMNS}
    with tqdm(total=len(files), desc="photos", unit="photo", leave=False) as bar:
        photos = chicken_photos(detector, files, args.photos, bar)
    if not photos:
        raise SaviourError(f"{args.images}: {args.model} finds a chicken in none of its {len(files)} photos")
    out = Path(args.out)
    prepare_output(out / "demo.mp4")
    total, found, seconds = len(photos) * args.frames_per_photo, dict.fromkeys(("before",) + COLUMNS, 0), 0.0
    with (tqdm(total=total, desc="demo", unit="frame") as bar,
          GifSink(out / "demo.gif", FPS / 2, every=2, width=480) as gif, VideoSink(out / "demo.mp4", FPS) as video):
        for _, photo in photos:
            for frame in pan_zoom(photo, args.frames_per_photo):
                start = time.perf_counter()
                shown = pipelines["patch"].run([frame])[0]
                seconds += time.perf_counter() - start
                results = {mode: shown if mode == "patch" else pipelines[mode].run([frame], [shown.before])[0]
                           for mode in COLUMNS}
                found["before"] += bool(len(shown.before.of_class("chicken")))
                for mode, result in results.items():
                    found[mode] += bool(len(result.after.of_class("chicken")))
                panel = side_by_side(shown, "patch", (bar.n + 1) / seconds, results["none"].heatmap)
                video.write(panel)
                gif.write(panel)
                bar.update()
    summary = {"model": args.model, "photos": [file.name for file, _ in photos], "frames": total,
               "finds_a_chicken": {mode: found[mode] / total for mode in ("before",) + COLUMNS[1:]},
               "patch": library.of_purpose("patch")[0].file, "patch_fraction": args.fraction,
               "heatmap": "class evidence" if heatmaps else "none"}
    write_atomically(out / "demo_summary.json", json.dumps(summary, indent=2) + "\n")
    print(f"{len(photos)} photo(s) with a chicken, {args.frames_per_photo} frames each: {', '.join(summary['photos'])}")
    print("the model finds a chicken in: " + ", ".join(f"{mode} {share:.1%}"
                                                       for mode, share in summary["finds_a_chicken"].items()))
    print(f"wrote {out / 'demo.mp4'}, demo.gif, demo_summary.json")

