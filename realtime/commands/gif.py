"""`saviour gif`: a stretch of a video (or of the farm world) as a looping GIF of the defended view,
shrunk in frame rate and width until it fits a size limit."""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

from engine.detection.detections import target_point
from engine.device import resolve_device
from engine.errors import SaviourError
from engine.files import partial_name
from realtime.commands.setup import detector_and_library
from realtime.io.gif import write_gif
from realtime.io.sources import open_source
from realtime.io.video import prepare_output
from realtime.pipeline.defended import DefendedPipeline, pipeline_for
from realtime.pipeline.overlay import hunter_view
from realtime.pipeline.runner import run

MIN_FPS, MIN_WIDTH = 2.0, 120
SHRINK = 0.8


def defended_frames(pipeline: DefendedPipeline, source_spec: str, start: float, duration: float, fps: float,
                    seed: int = 0) -> tuple[list[np.ndarray], float]:
    """The hunter's view of the defended frames from `start` for `duration` seconds, at most `fps`
    frames per second; returns the frames and the frame rate they were taken at."""
    source = open_source(source_spec, seed=seed, frames=None if source_spec != "world" else 10 ** 9)
    every = max(1, round(source.fps / fps))
    first, last = round(start * source.fps), round((start + duration) * source.fps)
    taken = itertools.islice(source.frames_from(first), 0, last - first, every)
    frames = []
    run(taken, pipeline.detect_and_defend,
        [pipeline.add_heatmap, lambda r: frames.append(hunter_view(r.defended, r.after, target_point(r.after)))])
    if not frames:
        length = f" (it is {source.frames / source.fps:.1f} s long)" if source.frames else ""
        raise SaviourError(f"{source_spec}: no frames between {start} s and {start + duration} s{length}")
    return frames, source.fps / every


def write_sized_gif(frames: list[np.ndarray], path: Path, fps: float, width: int,
                    max_mb: float | None = None) -> tuple[Path, float, int]:
    """Write the GIF; while it is larger than `max_mb`, lower the frame rate and the width in turn.
    Returns the path and the frame rate and width it was written at."""
    trial = partial_name(path).with_suffix(".gif")   # Pillow picks the format by the suffix
    lower_fps = True
    try:
        while True:
            size_mb = write_gif(frames, trial, fps=fps, width=width).stat().st_size / 1e6
            if max_mb is None or size_mb <= max_mb:
                return trial.replace(path), fps, width
            can_fps, can_width = fps * SHRINK >= MIN_FPS, width * SHRINK >= MIN_WIDTH
            if not (can_fps or can_width):
                raise SaviourError(f"{path}: cannot get under {max_mb} MB (still {size_mb:.3g} MB at "
                                   f"{fps:.1f} fps, {width} px wide); use a shorter --duration")
            if can_fps and (lower_fps or not can_width):
                frames, fps = _drop(frames, SHRINK), fps * SHRINK
            else:
                width = int(width * SHRINK)
            lower_fps = not lower_fps
    except OSError as error:   # name the GIF asked for, not the trial file
        error.filename = str(path)
        raise
    finally:
        trial.unlink(missing_ok=True)


def _drop(frames: list[np.ndarray], keep: float) -> list[np.ndarray]:
    """Evenly keep a share `keep` of the frames."""
    count = max(1, round(len(frames) * keep))
    return [frames[i] for i in np.linspace(0, len(frames) - 1, count).round().astype(int)]


def gif(args: argparse.Namespace) -> None:
    from realtime.commands.gif import defended_frames, write_sized_gif

    checks = [(args.start >= 0, "--start must be at least 0"), (args.duration > 0, "--duration must be positive"),
              (args.fps > 0, "--fps must be positive"), (args.width >= 16, "--width must be at least 16 px"),
              (args.max_size is None or args.max_size > 0, "--max-size must be positive")]
    for ok, message in checks:
        if not ok:
            raise SaviourError(message)
    out = prepare_output(args.out, ".gif")
    detector, library = detector_and_library(args, resolve_device(args.device), args.mode)
    pipeline = pipeline_for(detector, library, args.mode, args.fraction, attack_eps=args.attack_eps)
    frames, fps = defended_frames(pipeline, args.input, args.start, args.duration, args.fps, seed=args.seed)
    path, fps, width = write_sized_gif(frames, out, fps, args.width, args.max_size)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB, {fps:.1f} fps, {width} px wide)")


