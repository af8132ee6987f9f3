"""Application benchmarks: `saviour live --no-window` frame rates, `saviour batch` speed against real
time on a 720p 30 FPS file, and resident memory over a long live run."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from tqdm import tqdm

from blocks.choices import DEFAULT_LIBRARY
from blocks.library import BlockLibrary
from engine.detection.hunter import HunterDetector
from farm.world import FarmWorld
from realtime.commands.batch_input import process_input
from realtime.commands.batch_segments import Segment
from realtime.io.sources import WorldSource
from realtime.io.video import Mp4Writer
from realtime.live.app import LiveApp
from realtime.live.keys import LiveState
from realtime.pipeline.defended import pipeline_for

BENCH_SEED = 7


def resident_mb() -> float:
    """This process's resident memory (Linux /proc)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def live_fps(detector: HunterDetector, frames: int, heatmap: bool, workers: int = 2) -> float:
    """Frames per second of a headless live run on the farm world (blocks, drawing, HUD)."""
    library = BlockLibrary.load(DEFAULT_LIBRARY, detector.labels, detector.classifier.input_size)
    app = LiveApp(detector, library, WorldSource(seed=BENCH_SEED, frames=frames), detector.device.type,
                  window=False, state=LiveState(heatmap=heatmap), workers=workers)
    start = time.perf_counter()
    app.run()
    return app.frames / (time.perf_counter() - start)


def batch_speed(detector: HunterDetector, frames: int, view: str = "side-by-side") -> float:
    """How many times faster than real time `saviour batch --view VIEW` runs a 1280x720 30 FPS clip."""
    library = BlockLibrary.load(DEFAULT_LIBRARY, detector.labels, detector.classifier.input_size)
    world = FarmWorld(seed=BENCH_SEED, size=(1280, 720))
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "clip720.mp4"
        with Mp4Writer(clip, fps=30) as video:
            for i in range(frames):
                video.write(world.render(i)[0])
        pipeline = pipeline_for(detector, library, "camouflage")
        with tqdm(total=frames, desc="batch 720p", unit="frame", leave=False) as bar:
            summary = process_input(clip, Path(folder) / "out", [Segment(0, 1)], pipeline, 8, bar, view=view)
    return summary["speed_x_realtime"]


def soak_growth_mb(detector: HunterDetector, frames: int, warmup: int = 300) -> tuple[float, float]:
    """Resident memory growth (MB) of a headless live run with the heatmap, from after `warmup`
    frames to the end, and the resident size at the end."""
    warmup = min(warmup, frames)
    library = BlockLibrary.load(DEFAULT_LIBRARY, detector.labels, detector.classifier.input_size)
    app = LiveApp(detector, library, WorldSource(seed=BENCH_SEED, frames=frames + warmup), detector.device.type,
                  window=False, state=LiveState(heatmap=True))
    app.run(max_frames=warmup)
    after_warmup = resident_mb()
    app.source = WorldSource(seed=BENCH_SEED + 1, frames=frames)
    for frame in tqdm(app.source, total=frames, desc="soak", unit="frame", leave=False):
        app.step(frame)
    end = resident_mb()
    return end - after_warmup, end
