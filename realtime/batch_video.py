"""One input of `saviour batch` through the defended pipeline: its video, its JSONL log, its summary;
and the pipeline that a batch's flags describe."""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from engine.detect import HunterDetector, target_point
from engine.detections import Detections
from engine.files import atomic_path, write_atomically
from realtime.memory import HeapTrimmer
from realtime.overlay import output_view
from realtime.pipeline import DefendedPipeline, FrameResult
from realtime.sources import Source
from realtime.video import Mp4Writer
from realtime.workers import InOrder, threads_per_worker


def batch_pipeline(args: argparse.Namespace) -> tuple[DefendedPipeline, dict]:
    """The pipeline the batch flags describe, and the settings an output records to stand for them:
    everything that changes what is written (not how fast)."""
    from engine.device import resolve_device
    from realtime.commands import load_hunter, load_library
    from realtime.heatmap import HunterHeatmap

    hunter, hunter_sha256 = load_hunter(args.weights, resolve_device(args.device))
    library = load_library(args.library, hunter, hunter_sha256)
    heatmap = HunterHeatmap(hunter) if args.heatmap == "rise" else None
    detector = HunterDetector(hunter, min_size=args.min_size)
    pipeline = DefendedPipeline(detector, library, args.mode, args.fraction, heatmap=heatmap)
    settings = {"mode": args.mode, "view": args.view, "fraction": args.fraction, "heatmap": args.heatmap,
                "min_size": args.min_size, "weights_sha256": hunter_sha256, "library_sha256": library.sha256}
    return pipeline, settings


def detections_json(detections: Detections) -> list[dict]:
    return [{"label": name, "score": round(float(score), 4), "xyxy": [round(float(v), 1) for v in box]}
            for name, score, box in zip(detections.names, detections.score, detections.xyxy)]


def frame_record(index: int, result: FrameResult) -> dict:
    record = {"frame": index, "before": detections_json(result.before), "after": detections_json(result.after),
              "aim_before": _point(target_point(result.before)), "aim_after": _point(target_point(result.after)),
              "timings_ms": {k: round(v, 2) for k, v in result.timings.items()}}
    if result.heatmap is not None:
        record["heatmap"] = {"mean": round(float(result.heatmap.mean()), 4), "max": round(float(result.heatmap.max()), 4)}
    return record


def _point(point):
    return None if point is None else [round(float(point[0]), 1), round(float(point[1]), 1)]


def process_input(source: Source, out_dir: Path, pipeline: DefendedPipeline, batch_size: int, progress,
                  workers: int = 2, view: str = "side-by-side", record: dict | None = None) -> dict:
    """Run one opened input; write its three outputs; return its summary, which holds `record` too.

    Chunks of up to `batch_size` same-sized frames are detected and defended on `workers` threads at
    once; heatmaps and writing follow in frame order. The summary is written last and removed first:
    its presence marks the input as done. A run that fails leaves no partial file, and no folder it
    made empty."""
    (out_dir / "summary.json").unlink(missing_ok=True)
    made = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _process(source, out_dir, pipeline, batch_size, progress, workers, view, record or {})
    except BaseException:
        if made and not any(out_dir.iterdir()):
            out_dir.rmdir()
        raise


def _process(source, out_dir, pipeline, batch_size, progress, workers, view, record) -> dict:
    written, started = _Written(), time.perf_counter()
    with atomic_path(out_dir / "frames.jsonl") as log_tmp:
        with (Mp4Writer(out_dir / video_name(view), fps=source.fps, sound_of=source.sound) as video,
              open(log_tmp, "w") as log,
              InOrder(pipeline.detect_and_defend, workers) as work, threads_per_worker(workers)):
            def render(result: FrameResult) -> np.ndarray:
                return output_view(result, pipeline.mode, view)

            def write_next():
                _write(pipeline.add_heatmaps(work.next()), render, video, log, written, progress)

            def submit(frames):
                work.submit(frames)
                if work.full:
                    write_next()

            chunk = []
            for frame in source:
                if chunk and (len(chunk) == batch_size or frame.shape != chunk[0].shape):   # one size per pass
                    submit(chunk)
                    chunk = []
                chunk.append(frame)
            if chunk:
                work.submit(chunk)
            while work.pending:
                write_next()
    seconds = time.perf_counter() - started
    summary = {**record, "frames": written.frames, "fps_source": source.fps, "seconds": round(seconds, 2),
               "speed_x_realtime": round(written.frames / source.fps / seconds, 3) if seconds else None,
               "mode": pipeline.mode, "view": view, "frames_aimed_at_a_chicken": written.aimed,
               "truncated": bool(getattr(source, "truncated", False))}
    write_atomically(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary


@dataclass
class _Written:
    frames: int = 0
    aimed: dict = field(default_factory=lambda: {"before": 0, "after": 0})
    trimmer: HeapTrimmer = field(default_factory=HeapTrimmer)


def _write(results: list[FrameResult], render, video, log, written: _Written, progress) -> None:
    for result in results:
        video.write(render(result))
        record = frame_record(written.frames, result)
        log.write(json.dumps(record) + "\n")
        written.aimed["before"] += record["aim_before"] is not None
        written.aimed["after"] += record["aim_after"] is not None
        written.frames += 1
        written.trimmer.tick()
        progress.update(1)


def video_name(view: str) -> str:
    """The output video's name: the hunter's overlay makes it annotated; the bare defended view is not."""
    return "defended.mp4" if view == "defended" else "annotated.mp4"
