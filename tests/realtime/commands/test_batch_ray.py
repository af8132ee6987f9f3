"""`saviour batch --engine ray` on a Ray instance of the tests' own: the same outputs as the local engine,
a worker killed mid-task, SIGTERM to the driver, and bad flags."""

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest

from realtime.cli import main
from tests.faults.conftest import finish, leftovers, saviour, wait_for
from tests.media import clip_with_sound, world_clip

ray = pytest.importorskip("ray", reason="the Ray extra is not installed: pip install 'deep-chicken-saviour[ray]'")

TIMINGS = {"timings_ms", "seconds", "speed_x_realtime"}


@pytest.fixture(scope="module")
def cluster():
    """One Ray instance for the module (2 CPUs, no dashboard); its GCS address."""
    context = ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield context.address_info["address"]
    ray.shutdown()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Three short inputs (one with sound, one long enough to split at 1 s) and a file that is no video."""
    folder = tmp_path_factory.mktemp("inputs")
    (folder / "notes.mp4").write_text("not a video")
    return [world_clip(folder / "short.mp4", 20), clip_with_sound(folder / "talk.mp4", 24, "aac"),
            world_clip(folder / "long.mp4", 75), folder / "notes.mp4"]


def batch(inputs, out, *flags) -> int:
    return main(["batch", *map(str, inputs), "--out", str(out), "--batch-size", "4", "--segment-seconds", "1",
                 "--device", "cpu", *flags])


def without_timings(path: Path):
    if path.suffix == ".jsonl":
        return [without_timings_in(json.loads(line)) for line in path.read_text().splitlines()]
    if path.suffix == ".json":
        return without_timings_in(json.loads(path.read_text()))
    return path.read_bytes()


def without_timings_in(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMINGS}


def outputs(out: Path) -> dict:
    """Every file under `out` (the batch summary aside) by its relative path, timings left out."""
    return {str(p.relative_to(out)): without_timings(p) for p in sorted(out.rglob("*"))
            if p.is_file() and p.name not in ("batch_summary.json", ".saviour.lock")}


def batch_summary(out: Path) -> dict:
    """The batch summary, its output folders relative to `out`."""
    return json.loads((out / "batch_summary.json").read_text().replace(str(out), "OUT"))


@pytest.fixture(scope="module")
def local(inputs, tmp_path_factory):
    out = tmp_path_factory.mktemp("local") / "out"
    assert batch(inputs, out) == 1    # the file that is no video fails
    return out


def test_ray_writes_what_the_local_engine_writes(cluster, inputs, local, tmp_path, capsys):
    out = tmp_path / "out"
    assert batch(inputs, out, "--engine", "ray") == 1
    assert outputs(out) == outputs(local)
    assert json.loads((out / "long" / "summary.json").read_text())["segments"] == 3
    assert batch_summary(out) == batch_summary(local)
    printed = capsys.readouterr()
    assert "cannot read it as a video" in printed.out and "done 3, skipped 0" in printed.out
    assert batch(inputs, out, "--engine", "ray") == 1    # finished inputs are skipped, as the local engine does
    assert json.loads((out / "batch_summary.json").read_text())["skipped"] == list(map(str, inputs[:3]))


def running_task_pids(name: str) -> list[int]:
    """PIDs of Ray worker processes running a task of function `name` (Ray titles them ray::NAME)."""
    pids = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "cmdline").read_bytes().startswith(f"ray::{name}".encode()):
                pids.append(int(entry.name))
        except OSError:
            continue
    return pids


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the worker through /proc (Linux)")
def test_a_worker_killed_mid_task_is_retried_and_the_output_is_whole(cluster, tmp_path):
    clip = world_clip(tmp_path / "clip.mp4", 150)
    assert batch([clip], tmp_path / "local", "--segment-seconds", "0") == 0
    killed = []

    def kill_a_worker_once_it_writes():
        wait_for(lambda: leftovers(tmp_path / "ray") and running_task_pids("run_segment"), what="a running task")
        os.kill(running_task_pids("run_segment")[0], signal.SIGKILL)
        killed.append(True)

    killer = threading.Thread(target=kill_a_worker_once_it_writes, daemon=True)
    killer.start()
    assert batch([clip], tmp_path / "ray", "--segment-seconds", "0", "--engine", "ray") == 0
    killer.join(timeout=5)
    assert killed and outputs(tmp_path / "ray") == outputs(tmp_path / "local")
    assert not leftovers(tmp_path / "ray")


def test_sigterm_to_the_driver_cancels_the_tasks_and_keeps_finished_segments(cluster, tmp_path):
    clip = world_clip(tmp_path / "clip.mp4", 300)
    out = tmp_path / "out"
    run = saviour("batch", clip, "--out", out, "--segment-seconds", "1", "--engine", "ray", "--address", cluster)
    wait_for(lambda: list(out.glob("clip/segments/*.json")) or run.poll() is not None, timeout=180,
             what="a finished segment")
    run.send_signal(signal.SIGTERM)
    code, _, err = finish(run)
    assert code == 130 and err.splitlines()[-1] == "saviour: interrupted"
    time.sleep(1)    # the cancelled workers are gone: nothing more is written
    assert not leftovers(out) and list(out.glob("clip/segments/*.json"))
    summary = json.loads((out / "batch_summary.json").read_text())
    assert (summary["done"], summary["pending"]) == ([], [str(clip)])


@pytest.mark.parametrize("address", ["127.0.0.1:9", "ray://127.0.0.1:9"])
def test_an_unreachable_address_is_one_line_and_exit_2_within_30_s(inputs, tmp_path, address):
    started = time.monotonic()
    run = saviour("batch", inputs[0], "--out", tmp_path / "out", "--engine", "ray", "--address", address)
    code, _, err = finish(run)
    assert time.monotonic() - started < 30
    assert code == 2 and err.splitlines() == [f"saviour: error: --address {address}: cannot reach a Ray cluster there "
                                              "(Connection refused)"]
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("flags, message", [
    (["--gpus-per-task", "1"], "--gpus-per-task 1: the Ray cluster has no GPUs"),
    (["--cpus-per-task", "8"], "--cpus-per-task 8: no node of the Ray cluster has more than 2 CPUs"),
    (["--engine", "local", "--address", "auto"], "--address is for --engine ray; this batch runs with --engine local"),
])
def test_flags_the_cluster_cannot_meet_are_one_line_and_exit_2(cluster, inputs, tmp_path, capsys, flags, message):
    engine = [] if "--engine" in flags else ["--engine", "ray"]
    assert batch(inputs[:1], tmp_path / "out", *engine, *flags) == 2
    assert capsys.readouterr().err.splitlines() == [f"saviour: error: {message}"]


def test_the_ray_engine_without_ray_names_the_extra(inputs, tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)
    assert batch(inputs[:1], tmp_path / "out", "--engine", "ray") == 2
    assert capsys.readouterr().err.splitlines() == [
        "saviour: error: --engine ray needs Ray, an extra: pip install 'deep-chicken-saviour[ray]'"]
