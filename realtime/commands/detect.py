"""`saviour detect`: the hunter's view of a video or of the farm world."""

from __future__ import annotations

import argparse

from tqdm import tqdm

from engine.detection.detections import aim
from realtime.commands.setup import make_detector
from realtime.io.sinks import VideoSink
from realtime.io.sources import open_source
from realtime.io.video import prepare_output
from realtime.pipeline.defended import DefendedPipeline, FrameResult
from realtime.pipeline.overlay import hunter_view
from realtime.pipeline.runner import run


def hunters_view(result: FrameResult):
    """The clean frame with every detection and the hunter's aim (the mean of the chickens, as the notebook)."""
    return hunter_view(result.frame, result.before, aim(result.before))


def detect(args: argparse.Namespace) -> None:
    prepare_output(args.out, ".mp4")
    pipeline = DefendedPipeline(make_detector(args))   # no defence: the frames as they come
    source = open_source(args.source, frames=args.frames, seed=args.seed)
    with (tqdm(total=source.frames, desc="detect", unit="frame") as bar,
          VideoSink(args.out, source.fps, hunters_view, sound_of=source.sound) as video):
        run(source, pipeline.detect_and_defend, [video.write, lambda _: bar.update()])
    print(f"wrote {video.path} ({video.frames} frames)")
