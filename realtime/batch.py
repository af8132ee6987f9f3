"""`saviour batch`: run the defended pipeline over many video files (or folders of images, each one video).

Per input, under OUT/<name>/: `annotated.mp4` (before | after, or after alone; H.264) or with view
"defended" `defended.mp4` (the defended frames without the hunter's overlay), `frames.jsonl` (one line per
frame: detections before and after, aim points, heatmap statistics, timings) and `summary.json`,
which is written last, so its presence marks the input as done. Every file appears under its final
name only when complete. OUT/batch_summary.json lists each input as done, skipped or failed.
"""

from __future__ import annotations

import glob
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from engine.detect import target_point
from engine.detections import Detections
from engine.errors import SaviourError
from engine.files import atomic_path, write_atomically
from realtime.memory import HeapTrimmer
from realtime.overlay import output_view
from realtime.pipeline import DefendedPipeline, FrameResult
from realtime.sources import IMAGE_SUFFIXES, ImageFilesSource, Source, VideoFileSource
from realtime.video import Mp4Writer
from realtime.workers import InOrder, threads_per_worker

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


def expand_inputs(specs: list[str], out: Path | None = None) -> list[Path]:
    """Files as given, folders as their video files (sorted), globs as their matches; order kept, no repeats.
    A glob's matches under `out` are left out: they are this batch's own outputs (`clips/**/*.mp4`
    with `--out clips/out`). A folder or glob that holds no video is kept as given: a folder of
    images is then one input (see `open_input`), anything else is reported as failed."""
    outputs = out.resolve() if out is not None else None
    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES) or [path]
        elif any(c in spec for c in "*?[") and not path.exists():
            matches = [Path(p) for p in sorted(glob.glob(spec, recursive=True))]
            found += [p for p in matches if outputs is None or not p.resolve().is_relative_to(outputs)] or [path]
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def output_names(paths: list[Path]) -> dict[Path, str]:
    """Each input's output folder name: its file stem, with -2, -3 ... when stems repeat."""
    names, used = {}, {}
    for path in paths:
        used[path.stem] = used.get(path.stem, 0) + 1
        names[path] = path.stem if used[path.stem] == 1 else f"{path.stem}-{used[path.stem]}"
    return names


@dataclass
class BatchReport:
    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)   # (input, reason)


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


def open_input(path: Path) -> Source:
    """A video file, or a folder of images as a video of 30 FPS in name order."""
    if not path.is_dir():
        return VideoFileSource(path)
    images = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not images:
        raise SaviourError(f"{path}: no video files ({', '.join(sorted(VIDEO_SUFFIXES))}) "
                           f"or images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
    return ImageFilesSource(images, description=str(path))


def process_input(path: Path, out_dir: Path, pipeline: DefendedPipeline, batch_size: int, progress,
                  workers: int = 2, view: str = "side-by-side") -> dict:
    """Run one video; write its three outputs; return its summary. Chunks of up to `batch_size`
    same-sized frames are detected and defended on `workers` threads at once; heatmaps and writing
    follow in frame order."""
    source = open_input(path)
    out_dir.mkdir(parents=True, exist_ok=True)
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
    summary = {"input": str(path), "frames": written.frames, "fps_source": source.fps, "seconds": round(seconds, 2),
               "speed_x_realtime": round(written.frames / source.fps / seconds, 3) if seconds else None,
               "mode": pipeline.mode, "view": view, "frames_aimed_at_a_chicken": written.aimed}
    _write_json(out_dir / "summary.json", summary)
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


def run_batch(inputs: list[str], out: Path, pipeline: DefendedPipeline, batch_size: int = 8,
              force: bool = False, workers: int = 2, view: str = "side-by-side") -> BatchReport:
    """Every input in turn; a failing input is recorded and the batch goes on."""
    report = BatchReport()
    paths = expand_inputs(inputs, out)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SaviourError(f"{out}: cannot write output there ({error.strerror or error})") from None
    names = output_names(paths)
    try:
        for path in tqdm(paths, desc="batch", unit="file", position=0):
            target = out / names[path]
            if (target / "summary.json").is_file() and not force:
                report.skipped.append(str(path))
                continue
            try:
                total = open_input(path).frames
                with tqdm(total=total, desc=path.name, unit="frame", position=1, leave=False) as bar:
                    process_input(path, target, pipeline, batch_size, bar, workers, view)
                report.done.append(str(path))
            except SaviourError as error:
                report.failed.append((str(path), str(error)))
                tqdm.write(f"saviour: failed: {error}")
    finally:
        _write_json(out / "batch_summary.json", {
            "done": report.done, "skipped": report.skipped,
            "failed": [{"input": p, "reason": r} for p, r in report.failed]})
    return report


def video_name(view: str) -> str:
    """The output video's name: the hunter's overlay makes it annotated; the bare defended view is not."""
    return "defended.mp4" if view == "defended" else "annotated.mp4"


def _write_json(path: Path, data: dict) -> None:
    write_atomically(path, json.dumps(data, indent=2) + "\n")
