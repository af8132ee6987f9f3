"""`saviour detect`: the hunter's view of a video or of the farm world."""

from __future__ import annotations

import argparse

from tqdm import tqdm

from engine.detection.hunter import aim
from realtime.commands.setup import make_detector
from realtime.io.sources import open_source
from realtime.io.video import Mp4Writer, prepare_output
from realtime.pipeline.overlay import hunter_view


def detect(args: argparse.Namespace) -> None:
    prepare_output(args.out, ".mp4")
    detector = make_detector(args)
    source = open_source(args.source, frames=args.frames, seed=args.seed)
    with Mp4Writer(args.out, fps=source.fps, sound_of=source.sound) as video:
        for frame in tqdm(source, total=source.frames, desc="detect", unit="frame"):
            detections = detector(frame)
            video.write(hunter_view(frame, detections, aim(detections)))
    print(f"wrote {video.path} ({video.frames} frames)")


