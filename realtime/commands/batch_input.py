"""One input of `saviour batch` through the defended pipeline: its video, its JSONL log, its summary;
and the pipeline that a batch's flags describe."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from engine.detection.detections import Detections, target_point
from engine.files import write_atomically
from realtime.commands.batch_segments import Segment, finished, join, open_folder, process_segment, remove_empty
from realtime.pipeline.defended import DefendedPipeline, FrameResult, pipeline_for


def batch_pipeline(args: argparse.Namespace) -> tuple[DefendedPipeline, dict]:
    """The pipeline the batch flags describe, and the settings an output records to stand for them:
    everything that changes what is written (not how fast)."""
    from engine.device import resolve_device
    from realtime.choices import ATTACK_EPS
    from engine.models import file_sha256, weights_file
    from engine.models.checkpoint import state_sha256
    from realtime.commands.setup import detector_and_library, live_heatmap

    detector, library = detector_and_library(args, resolve_device(args.device), args.mode)
    heatmap = live_heatmap(detector) if args.heatmap == "rise" else None
    pipeline = pipeline_for(detector, library, args.mode, args.fraction, heatmap=heatmap, attack_eps=args.attack_eps)
    weights = file_sha256(weights_file(args.weights)) if args.model == "hunter" else state_sha256(detector.classifier)
    settings = {"mode": args.mode, "view": args.view, "fraction": args.fraction, "heatmap": args.heatmap,
                "min_size": args.min_size, "weights_sha256": weights, "library_sha256": library.sha256}
    if args.model != "hunter":
        settings["model"] = args.model
    if args.mode in ATTACK_EPS:   # only the on-the-fly modes have a budget
        settings["attack_eps"] = args.attack_eps or ATTACK_EPS[args.mode]
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


def process_input(path: Path, out_dir: Path, segments: list[Segment], pipeline: DefendedPipeline, batch_size: int,
                  progress, workers: int = 2, view: str = "side-by-side", record: dict | None = None) -> dict:
    """Run one input, segment by segment (a segment done before is not redone); write its three outputs;
    return its summary, which holds `record` too.

    Chunks of up to `batch_size` same-sized frames are detected and defended on `workers` threads at
    once; heatmaps and writing follow in frame order. The summary is written last and removed first:
    its presence marks the input as done. A run that fails leaves no partial file, and no folder it
    made empty."""
    record = record or {}
    made = open_folder(out_dir)
    try:
        stats = []
        for segment in segments:
            done = finished(segment, out_dir, record)
            if done is not None:
                progress.update(done["frames"])
            stats.append(done or process_segment(path, segment, out_dir, pipeline, batch_size, progress, workers,
                                                 view, record))
        return finish_input(path, out_dir, segments, stats, view, record)
    except BaseException:
        remove_empty(out_dir, made)
        raise


def finish_input(path: Path, out_dir: Path, segments: list[Segment], stats: list[dict], view: str,
                 record: dict) -> dict:
    """Join the input's segments (if several) and write its summary, which marks it done."""
    join(out_dir, segments, view, sound_of=None if path.is_dir() else path)
    frames, seconds, fps = sum(s["frames"] for s in stats), sum(s["seconds"] for s in stats), stats[0]["fps_source"]
    summary = {**record, "frames": frames, "fps_source": fps, "seconds": round(seconds, 2),
               "speed_x_realtime": round(frames / fps / seconds, 3) if seconds else None,
               "mode": stats[0]["mode"], "view": view, "segments": len(segments),
               "frames_aimed_at_a_chicken": {side: sum(s["frames_aimed_at_a_chicken"][side] for s in stats)
                                             for side in ("before", "after")},
               "truncated": any(s["truncated"] for s in stats)}
    write_atomically(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    return summary
