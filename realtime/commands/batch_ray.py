"""`saviour batch --engine ray`: the batch's segments as Ray tasks, on a cluster the user runs or on a Ray
instance of the run's own.

The driver (this process) plans the inputs as the local engine does (same folders, same segments), sends
one task per segment still to do, and, as each input's last segment comes back, joins its outputs and
writes its summary. Tasks write their files straight into the output folder, so every node needs the
inputs and the output folder at the same paths (one machine, or shared storage). A worker process keeps
the pipeline it built, so models load once per worker, not once per task.

Faults: Ray runs a task again when its worker process dies (a retry writes its files afresh; what the
dead one left half-written is removed when the input is joined); an input that fails for its own reason
fails only that input, with its reason. An interrupt cancels the tasks, removes their partial files and
leaves the segments already done for the next run.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import socket
import time
from pathlib import Path

from tqdm import tqdm

from engine.errors import SaviourError
from engine.files import is_partial
from realtime.commands.batch import BatchReport, Job, fail, jobs
from realtime.commands.batch_segments import SEGMENTS, Segment, finished, open_folder, process_segment, remove_empty

RAY_EXTRA = "pip install 'deep-chicken-saviour[ray]'"
CONNECT_TIMEOUT_S = 10
RETRIES = 3          # runs of a task whose worker process died
POLL_S = 0.25        # how often the driver's progress bar is brought up to date
# the batch flags a worker needs to build the pipeline and run a segment
PIPELINE_FLAGS = ("mode", "attack_eps", "fraction", "heatmap", "library", "weights", "model", "min_size", "device",
                  "view", "batch_size", "workers")


def import_ray():
    try:
        import ray
    except ImportError:
        raise SaviourError(f"--engine ray needs Ray, an extra: {RAY_EXTRA}") from None
    return ray


def connect(ray, address: str | None) -> bool:
    """Join the cluster at `address`, or start a Ray instance of this run's own (None); True when this
    call connected (and the run should disconnect), False when the process already was."""
    if ray.is_initialized():    # a caller's own instance (a notebook, the tests)
        return False
    if address not in (None, "auto"):
        _check_reachable(address)
    options = {"include_dashboard": False} if address is None else {}
    ours = signal.getsignal(signal.SIGTERM)
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=True, **options)
    except ConnectionError as error:
        raise SaviourError(f"--address {address}: cannot join the Ray cluster there ({str(error).splitlines()[0]}; "
                           "one with token authentication needs RAY_AUTH_MODE=token and its token here)") from None
    finally:
        signal.signal(signal.SIGTERM, ours)   # Ray's own handler exits at once, leaving partial files
    return True


def _check_reachable(address: str) -> None:
    """Fail at once, with one line, when nothing listens at HOST:PORT: Ray itself would retry for minutes."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        raise SaviourError(f"--address {address}: expected auto, HOST:PORT or ray://HOST:10001")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        raise SaviourError(f"--address {address}: cannot reach a Ray cluster there "
                           f"({error.strerror or error})") from None


def check_resources(ray, cpus: float, gpus: float) -> None:
    """A task that asks for more than any node has would wait forever: say so instead."""
    nodes = [node.get("Resources", {}) for node in ray.nodes() if node.get("Alive")]
    most_cpus = max((node.get("CPU", 0) for node in nodes), default=0)
    most_gpus = max((node.get("GPU", 0) for node in nodes), default=0)
    if gpus > most_gpus:
        raise SaviourError(f"--gpus-per-task {gpus:g}: " + ("the Ray cluster has no GPUs" if not most_gpus else
                                                            f"no node of the Ray cluster has more than {most_gpus:g}"))
    if cpus > most_cpus:
        raise SaviourError(f"--cpus-per-task {cpus:g}: no node of the Ray cluster has more than {most_cpus:g} CPUs")


_pipelines: dict = {}    # a worker process's pipelines, by the flags that built them


def run_segment(flags: dict, path: str, segment: Segment, folder: str, record: dict, progress) -> dict:
    """A segment's task, in a worker process: build the pipeline (once per worker) and run the segment."""
    key = json.dumps(flags, sort_keys=True)
    if key not in _pipelines:
        from realtime.commands.batch_input import batch_pipeline

        _pipelines[key] = batch_pipeline(argparse.Namespace(**flags))[0]
    counter = _Counter(progress, (path, segment.index))
    stats = process_segment(Path(path), segment, Path(folder), _pipelines[key], flags["batch_size"], counter,
                            flags["workers"], flags["view"], record)
    counter.flush()
    return stats


class _Counter:
    """A progress bar's `update` for a task: the frames it has done, sent to the driver's tally now and then."""

    def __init__(self, tally, key):
        self.tally, self.key, self.done, self.sent = tally, key, 0, 0.0

    def update(self, n: int) -> None:
        self.done += n
        if time.monotonic() - self.sent > POLL_S:
            self.flush()

    def flush(self) -> None:
        self.tally.report.remote(self.key, self.done)
        self.sent = time.monotonic()


class Tally:
    """The frames each running task has done (an actor: tasks report to it, the driver reads it)."""

    def __init__(self):
        self.frames: dict = {}

    def report(self, key, frames: int) -> None:
        self.frames[key] = frames

    def total(self) -> int:
        return sum(self.frames.values())


class Cluster:
    """The Ray cluster a batch runs on: joined (or started) and checked when made, left on exit."""

    def __init__(self, options: argparse.Namespace):
        self.ray = import_ray()
        self.connected = connect(self.ray, options.address)
        try:
            check_resources(self.ray, options.cpus_per_task, options.gpus_per_task)
        except BaseException:
            self.close()
            raise

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.connected:
            self.ray.shutdown()
            self.connected = False

    def run_batch(self, paths: list[Path], out: Path, pipeline, settings: dict, report: BatchReport,
                  options: argparse.Namespace) -> BatchReport:
        """Every input's segments as tasks; inputs settle as their last segment comes back."""
        todo = list(jobs(paths, out, settings, report, options, pipeline.frame_by_frame))
        _RayBatch(self.ray, report, options).run(todo)
        return report


class _RayBatch:
    def __init__(self, ray, report: BatchReport, options: argparse.Namespace):
        self.ray, self.report, self.options = ray, report, options
        self.flags = {name: getattr(options, name) for name in PIPELINE_FLAGS}
        self.task = ray.remote(run_segment).options(num_cpus=options.cpus_per_task, num_gpus=options.gpus_per_task,
                                                    max_retries=RETRIES, retry_exceptions=False)
        self.tally = None    # made with the first task: a batch with nothing to run needs no actor
        self.running: dict = {}    # task -> (job, segment)
        self.results: dict = {}    # job's path -> {segment index: stats}
        self.made: dict = {}       # job's path -> whether this run made its folder

    def run(self, todo: list[Job]) -> None:
        with tqdm(total=sum(job.frames or 0 for job in todo), desc="batch", unit="frame") as bar:
            try:
                reused = sum(self._submit(job) for job in todo)
                while self.running:
                    ready, _ = self.ray.wait(list(self.running), num_returns=1, timeout=POLL_S)
                    for task in ready:
                        self._collect(task)
                    done = self.ray.get(self.tally.total.remote()) if self.tally else 0
                    bar.update(reused + done - bar.n)
            except BaseException:    # Ctrl-C, SIGTERM: stop the tasks, remove what they half wrote
                self._cancel()
                raise

    def _submit(self, job: Job) -> int:
        """Send the job's segments still to do; return the frames of those done before."""
        self.made[job.path] = open_folder(job.folder)
        self.results[job.path], reused = {}, 0
        for segment in job.segments:
            stats = finished(segment, job.folder, job.record)
            if stats is not None:
                self.results[job.path][segment.index], reused = stats, reused + stats["frames"]
                continue
            self.tally = self.tally or self.ray.remote(Tally).options(num_cpus=0).remote()
            task = self.task.remote(self.flags, str(job.path), segment, str(job.folder), job.record, self.tally)
            self.running[task] = (job, segment)
        if not any(j is job for j, _ in self.running.values()):
            self._finish(job)
        return reused

    def _collect(self, task) -> None:
        job, segment = self.running.pop(task)
        if job.path in self.results:    # not already failed
            try:
                self.results[job.path][segment.index] = self.ray.get(task)
            except Exception as error:
                self._fail(job, _cause(error, self.ray))
                return
            if len(self.results[job.path]) == len(job.segments):
                self._finish(job)

    def _finish(self, job: Job) -> None:
        from realtime.commands.batch_input import finish_input

        try:
            results = self.results.pop(job.path)
            summary = finish_input(job.path, job.folder, job.segments, [results[s.index] for s in job.segments],
                                   self.options.view, job.record)
            remove_partials(job.folder)    # what a worker that died mid-task left
            self.report.settle(job.path, "done", folder=job.folder)
            tqdm.write(f"done {job.path}: {summary['frames']} frames in {len(job.segments)} segment(s)")
        except Exception as error:
            self._fail(job, error)

    def _fail(self, job: Job, error: BaseException) -> None:
        self.results.pop(job.path, None)
        for task in [t for t, (j, _) in self.running.items() if j is job]:
            self.ray.cancel(task)    # it stops as on Ctrl-C, removing its own partial files
            self.running.pop(task)
        remove_empty(job.folder, self.made[job.path])
        fail(self.report, job.path, error)

    def _cancel(self) -> None:
        if not self.running:
            return
        for task in self.running:
            self.ray.cancel(task, force=True)
        self.ray.wait(list(self.running), num_returns=len(self.running), timeout=CONNECT_TIMEOUT_S)
        for job in {id(j): j for j, _ in self.running.values()}.values():
            remove_partials(job.folder)
            remove_empty(job.folder, self.made[job.path])


def _cause(error: BaseException, ray) -> BaseException:
    """What failed a task: the exception raised in it, or why its worker could not run it."""
    if isinstance(error, ray.exceptions.RayTaskError) and error.cause is not None:
        return error.cause
    if isinstance(error, ray.exceptions.WorkerCrashedError):
        return SaviourError(f"its task's worker process died {RETRIES + 1} times")
    return error


def remove_partials(folder: Path) -> None:
    """Remove the files half written under `folder` (and its segments' folder) by tasks that were stopped."""
    for place in (folder, folder / SEGMENTS):
        if place.is_dir():
            for path in place.iterdir():
                if is_partial(path):
                    path.unlink(missing_ok=True)


