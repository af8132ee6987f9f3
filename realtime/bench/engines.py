"""`saviour bench --ray`: `saviour batch` on Ray against the local engine, run as a user runs them (the whole
command, Ray's start-up included): six short clips; one long clip split into four segments and not
split; and a cluster of two nodes of one CPU each against one such node, both started with `ray start`
on this machine."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from farm.world import FarmWorld
from realtime.io.video import Mp4Writer

CLIPS, CLIP_SECONDS, LONG_SECONDS, SIZE, FPS = 6, 20, 80, (1280, 720), 30
HEAD_PORT = 6391    # not Ray's default, so a cluster the user runs on this machine is left alone


def engine_rows() -> list[tuple[str, float, str]]:
    from realtime.commands.batch_ray import import_ray

    import_ray()    # a clear line when the extra is missing
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        clips = [_clip(folder / f"clip{k}.mp4", CLIP_SECONDS * FPS, seed=k) for k in range(CLIPS)]
        frames = CLIPS * CLIP_SECONDS * FPS
        local = frames / _batch_seconds(clips, folder / "local")
        ray = frames / _batch_seconds(clips, folder / "ray", "--engine", "ray")
        rows = [(f"batch, {CLIPS} clips of {CLIP_SECONDS} s 720p: local engine", local, "frames/s"),
                ("  ray engine, 2 CPUs, Ray's start included", ray, "frames/s"),
                ("  ray / local", ray / local, "x")]
        long = _clip(folder / "long.mp4", LONG_SECONDS * FPS, seed=CLIPS)
        whole = _batch_seconds([long], folder / "whole", "--engine", "ray", "--segment-seconds", "0")
        split = _batch_seconds([long], folder / "split", "--engine", "ray", "--segment-seconds", str(LONG_SECONDS / 4))
        rows += [(f"batch --engine ray, a {LONG_SECONDS} s 720p clip whole", whole, "s"),
                 ("  split into 4 segments", split, "s"),
                 ("  whole / split", whole / split, "x"),
                 ("  the same log, split and whole (1 yes, 0 no)", float(_log(folder / "split" / "long") ==
                                                                       _log(folder / "whole" / "long")), "")]
        if ray_running():
            tqdm.write("bench: a Ray cluster runs on this machine; the rows of nodes started with `ray start` "
                       "are left out, as `ray stop` would end it too")
            return rows
        one, two = (_on_nodes(nodes, clips[:2], folder / f"nodes{nodes}") for nodes in (1, 2))
        rows += [("batch --engine ray --workers 1, 2 clips: one node, 1 CPU", 2 * CLIP_SECONDS * FPS / one, "frames/s"),
                 ("  two nodes of 1 CPU (ray start twice)", 2 * CLIP_SECONDS * FPS / two, "frames/s"),
                 ("  two nodes / one", one / two, "x")]
    return rows


def _clip(path: Path, frames: int, seed: int) -> Path:
    world = FarmWorld(seed=seed, size=SIZE)
    with Mp4Writer(path, fps=FPS) as video:
        for i in range(frames):
            video.write(world.render(i)[0])
    return path


def _batch_seconds(inputs: list[Path], out: Path, *flags: str) -> float:
    """Wall-clock seconds of `saviour batch` over `inputs`, the command itself."""
    from realtime.cli import main

    start = time.perf_counter()
    if main(["batch", *map(str, inputs), "--out", str(out), "--device", "cpu", *flags]) != 0:
        raise RuntimeError(f"saviour batch {' '.join(flags)} failed on the bench clips")
    return time.perf_counter() - start


def _log(folder: Path) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k != "timings_ms"}
            for line in (folder / "frames.jsonl").read_text().splitlines()]


def _on_nodes(nodes: int, clips: list[Path], out: Path) -> float:
    """Seconds of a batch on a cluster of `nodes` nodes of one CPU each, started with `ray start` here
    (with token authentication, as Ray's local clusters have it; the token is the user's, ~/.ray)."""
    ray_cli, address = [sys.executable, "-m", "ray.scripts.scripts"], f"127.0.0.1:{HEAD_PORT}"
    starts = [[*ray_cli, "start", "--head", f"--port={HEAD_PORT}", "--num-cpus=1", "--include-dashboard=false"]]
    starts += [[*ray_cli, "start", f"--address={address}", "--num-cpus=1"]] * (nodes - 1)
    before = os.environ.get("RAY_AUTH_MODE")
    os.environ["RAY_AUTH_MODE"] = "token"    # for the nodes and for this driver alike
    try:
        for command in starts:
            subprocess.run(command, check=True, capture_output=True)
        # one worker thread a task: a task of the default two keeps both of this machine's cores busy on
        # its own, and a second node would have none left to add
        return _batch_seconds(clips, out, "--engine", "ray", "--address", address, "--segment-seconds", "0",
                              "--workers", "1")
    finally:
        subprocess.run([*ray_cli, "stop", "--force"], capture_output=True)
        if before is None:
            del os.environ["RAY_AUTH_MODE"]
        else:
            os.environ["RAY_AUTH_MODE"] = before


def ray_running() -> bool:
    """Whether a Ray cluster runs on this machine already (its GCS server): `ray stop` would end it too."""
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if b"gcs_server" in (entry / "cmdline").read_bytes():
                return True
        except OSError:
            continue
    return False
