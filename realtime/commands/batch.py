"""`saviour batch`: run the defended pipeline over many video files (or folders of images, each one video).

Per input, under OUT/<name>/: `annotated.mp4` (before | after, or after alone; H.264) or with view
"defended" `defended.mp4` (the defended frames without the hunter's overlay), `frames.jsonl` (one line per
frame: detections before and after, aim points, heatmap statistics, timings) and `summary.json`,
which is written last, so its presence marks the input as done. Every file appears under its final
name only when complete. OUT/batch_summary.json lists each input as done, skipped, failed or pending.

A summary records its input (absolute path, size, modification time) and the settings that shaped the
output, so a finished folder stands only for that input made that way: another input of the same
name, or the same input with other settings, gets a folder of its own (`clip-2`), and an input that
changed on disk, or was read truncated, is redone in its folder. One batch at a time writes to an
output folder (an OS lock on OUT/.saviour.lock).

This module loads no model until the inputs are known and the folder is held, so an interrupt
during start-up still writes the batch summary.
"""

from __future__ import annotations

import argparse
import glob
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tqdm import tqdm

from engine.errors import SaviourError, warn
from engine.files import LOCK, describe_failure, folder_lock, write_atomically
from realtime.io.sources import (
    IMAGE_SUFFIXES,
    ImageFilesSource,
    Source,
    VideoFileSource,
)

VIDEO_SUFFIXES = {".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg"}


def expand_inputs(specs: list[str], out: Path | None = None) -> list[Path]:
    """Files as given, folders as their video files (sorted), globs as their matches; order kept, no repeats.
    A glob's matches under `out` are left out: they are this batch's own outputs (`clips/**/*.mp4`
    with `--out clips/out`). A folder or glob that holds no video is kept as given: a folder of
    images is then one input (see `open_input`), anything else is reported as failed."""
    outputs = out.resolve() if out is not None else None
    found: list[Path] = []
    for spec in specs:
        if not spec.strip():
            raise SaviourError("an input is empty: give video files, folders or glob patterns")
        path = Path(spec)
        if path.is_dir():
            found += sorted(p for p in path.iterdir() if p.suffix.lower() in VIDEO_SUFFIXES) or [path]
        elif any(c in spec for c in "*?[") and not path.exists():
            matches = [Path(p) for p in sorted(glob.glob(spec, recursive=True))]
            found += [p for p in matches if outputs is None or not p.resolve().is_relative_to(outputs)] or [path]
        else:
            found.append(path)
    return list(dict.fromkeys(found))


def open_input(path: Path, frames: int | None = None) -> Source:
    """A video file (its first `frames` frames, if given), or a folder of images as a video of 30 FPS in
    name order."""
    if not path.is_dir():
        return VideoFileSource(path, frames)
    images = _images(path)
    if not images:
        raise SaviourError(f"{path}: no video files ({', '.join(sorted(VIDEO_SUFFIXES))}) "
                           f"or images ({', '.join(sorted(IMAGE_SUFFIXES))}) in this folder")
    return ImageFilesSource(images, description=str(path))


def _images(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def fingerprint(path: Path) -> dict:
    """What identifies an input's content cheaply: its absolute path, size and modification time
    (for a folder of images, their total size and latest time); a changed file is redone."""
    files = _images(path) if path.is_dir() else [path]
    stats = [f.stat() for f in files if f.exists()]
    return {"path": str(path.resolve()), "size": sum(s.st_size for s in stats),
            "mtime_ns": max((s.st_mtime_ns for s in stats), default=0)}


def _recorded(folder: Path) -> tuple[str, dict | None] | None:
    """(input path, settings) that a finished output folder records; None when it holds no readable
    summary. Summaries of earlier versions record no settings: they stand for no settings asked now."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
        source = summary.get("source") or {"path": str(Path(summary["input"]).resolve())}
        return source["path"], summary.get("settings")
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def output_folders(paths: list[Path], out: Path, settings: dict) -> dict[Path, Path]:
    """Each input's output folder: the one whose summary records that input and these settings, else
    the first of its file stem, stem-2, stem-3 ... that no summary and no other input holds."""
    folders = [folder for folder in (out.iterdir() if out.is_dir() else []) if folder.is_dir()]
    claims = {folder.name: claim for folder in folders if (claim := _recorded(folder)) is not None}
    owner = {path: name for name, (path, recorded) in claims.items() if _same(recorded, settings)}
    chosen = {path: owner.get(str(path.resolve())) for path in paths}
    taken = set(claims) | {name for name in chosen.values() if name}
    for path in paths:
        if chosen[path] is None:
            name, n = path.stem, 1
            while name in taken:
                n += 1
                name = f"{path.stem}-{n}"
            chosen[path] = name
            taken.add(name)
    return {path: out / name for path, name in chosen.items()}


def _same(recorded: dict | None, settings: dict) -> bool:
    """Settings as a summary records them (through JSON) against the run's own."""
    return json.dumps(recorded, sort_keys=True) == json.dumps(settings, sort_keys=True)


def redo_reason(folder: Path, source: dict) -> str | None:
    """Why a folder that stands for its input is not done: None when it is done and up to date."""
    try:
        summary = json.loads((folder / "summary.json").read_text())
    except (OSError, ValueError):
        return "not done"
    if summary.get("truncated"):
        return "its input was read truncated"
    recorded = summary.get("source", {})
    if any(recorded.get(key) != source[key] for key in ("size", "mtime_ns")):
        return "its input changed since"
    return None


@dataclass
class BatchReport:
    done: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    failed: list = field(default_factory=list)    # (input, reason)
    pending: list = field(default_factory=list)   # not reached, or interrupted
    outputs: dict = field(default_factory=dict)   # input done or skipped -> its output folder

    def settle(self, path: Path, outcome: str, reason: str | None = None, folder: Path | None = None) -> None:
        self.pending.remove(str(path))
        if outcome == "failed":
            self.failed.append((str(path), reason))
        else:
            getattr(self, outcome).append(str(path))
            self.outputs[str(path)] = str(folder)

    def __post_init__(self):
        self.order = {path: k for k, path in enumerate(self.pending)}   # inputs as given

    def write(self, out: Path) -> None:
        """The summary, each list in the inputs' order (a cluster settles them as they come back)."""
        def ordered(paths: list) -> list:
            return sorted(paths, key=lambda p: self.order[p if isinstance(p, str) else p[0]])
        write_atomically(out / "batch_summary.json", json.dumps({
            "done": ordered(self.done), "skipped": ordered(self.skipped),
            "failed": [{"input": p, "reason": r} for p, r in ordered(self.failed)],
            "pending": self.pending, "outputs": dict(ordered(list(self.outputs.items())))}, indent=2) + "\n")


def run_batch(paths: list[Path], out: Path, pipeline, settings: dict, report: BatchReport,
              options: argparse.Namespace) -> BatchReport:
    """Every input in turn on this machine; an input that fails, for any reason, is recorded and the batch
    goes on. `options`: the batch's flags (batch_size, workers, view, force, segment_seconds)."""
    from realtime.commands.batch_input import process_input

    with tqdm(total=len(paths), desc="batch", unit="file", position=0) as files:
        for job in jobs(paths, out, settings, report, options, pipeline.frame_by_frame):
            files.update(len(paths) - len(report.pending) - files.n)
            try:
                with tqdm(total=job.frames, desc=job.path.name, unit="frame", position=1, leave=False) as bar:
                    process_input(job.path, job.folder, job.segments, pipeline, options.batch_size, bar,
                                  options.workers, options.view, job.record)
                report.settle(job.path, "done", folder=job.folder)
            except Exception as error:   # one input's failure, whatever it is, is that input's alone
                fail(report, job.path, error)
        files.update(len(paths) - len(report.pending) - files.n)
    return report


@dataclass
class Job:
    """One input to run: where its outputs go, its segments, and what its outputs record."""

    path: Path
    folder: Path
    segments: list
    frames: int | None
    record: dict


def jobs(paths: list[Path], out: Path, settings: dict, report: BatchReport, options: argparse.Namespace,
         split: bool) -> Iterator[Job]:
    """The inputs to run, in order, as jobs, split into segments when `split` allows; inputs already
    done are settled as skipped (unless options.force), and those that cannot be opened as failed."""
    from realtime.commands.batch_segments import discard_segments, plan

    folders = output_folders(paths, out, settings)
    for path in paths:
        folder, source = folders[path], fingerprint(path)
        reason = redo_reason(folder, source)
        if reason is None and not options.force:
            report.settle(path, "skipped", folder=folder)
            continue
        if reason not in (None, "not done"):
            warn(f"{path}: {reason}; redoing it in {folder}")
        if options.force:
            discard_segments(folder)
        try:
            opened = open_input(path)
        except Exception as error:
            fail(report, path, error)
            continue
        segments = plan(opened, options.segment_seconds, split)
        yield Job(path, folder, segments, opened.frames,
                  {"input": str(path), "source": source, "settings": settings})


def fail(report: BatchReport, path: Path, error: BaseException) -> None:
    """Settle an input as failed, with a reason that names it, and say so."""
    reason = describe_failure(error)
    reason = reason if isinstance(error, (SaviourError, OSError)) else f"{path}: {reason}"
    report.settle(path, "failed", reason)
    tqdm.write(f"saviour: failed: {reason}", file=sys.stderr)


def _output_folder(out: Path) -> bool:
    """Create the output folder if needed; True when this run made it."""
    if out.exists() and not out.is_dir():
        raise SaviourError(f"{out}: is a file; give a folder for the outputs")
    made = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise SaviourError(f"{out}: cannot write output there ({error.strerror or error})") from None
    return made


def ray_cluster(args: argparse.Namespace):
    from realtime.commands.batch_ray import Cluster

    return Cluster(args)


def check_engine_flags(args: argparse.Namespace) -> None:
    """Ray's flags with the local engine would be silently ignored; and Ray must be there to use it."""
    if args.engine == "ray":
        from realtime.commands.batch_ray import import_ray

        import_ray()
    elif args.address is not None or args.gpus_per_task:
        flag = "--address" if args.address is not None else "--gpus-per-task"
        raise SaviourError(f"{flag} is for --engine ray; this batch runs with --engine local")


def batch(args: argparse.Namespace) -> int:
    """The `saviour batch` command: hold the output folder, load the pipeline, run the inputs, and
    write the batch summary however the run ends, but for a mistake in the settings, which leaves
    nothing behind."""
    check_engine_flags(args)
    out = Path(args.out)
    paths = expand_inputs(args.inputs, out)
    made = _output_folder(out)
    report = BatchReport(pending=[str(p) for p in paths])
    with folder_lock(out):
        try:
            from realtime.commands.batch_input import batch_pipeline

            pipeline, settings = batch_pipeline(args)
            cluster = ray_cluster(args) if args.engine == "ray" else None
        except SaviourError:
            if made:
                (out / LOCK).unlink()
                out.rmdir()
            raise
        except BaseException:   # an interrupt while the models load: every input is still pending
            report.write(out)
            raise
        try:
            if cluster is not None:
                with cluster:
                    cluster.run_batch(paths, out, pipeline, settings, report, args)
            else:
                run_batch(paths, out, pipeline, settings, report, args)
        finally:
            report.write(out)
    print(f"done {len(report.done)}, skipped {len(report.skipped)} (already done; --force redoes them), "
          f"failed {len(report.failed)}")
    for _, reason in report.failed:
        print(f"  failed: {reason}")
    print(f"wrote {out / 'batch_summary.json'}")
    return 1 if report.failed else 0
