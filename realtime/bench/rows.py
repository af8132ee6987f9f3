"""`saviour bench`: world rendering, detector throughput, dense versus per-window scoring, the defended
pipeline with and without the live heatmap, and RISE against the notebook's way."""

from __future__ import annotations

import os
import platform
import tempfile
import time

import numpy as np
import torch
from tqdm import tqdm

from blocks.choices import DEFAULT_LIBRARY
from blocks.library import DEFAULT_RECIPES, BlockLibrary
from blocks.paste import paste_at
from engine.detection.hunter import WINDOW, HunterDetector, bgr_to_tensor
from engine.detection.pyramid import pyramid
from engine.device import cpu_computes_in, cpuinfo
from engine.errors import SaviourError
from engine.models import load_classifier
from farm.world import FarmWorld
from realtime.bench.app import batch_speed, live_fps, soak_growth_mb
from realtime.bench.explain import mask_rates, model_pass_seconds, resnet18, rise_seconds, sync
from realtime.bench.real_world import real_world_rows
from realtime.choices import ATTACK_EPS, ATTACK_STEPS
from realtime.pipeline.defended import pipeline_for
from realtime.pipeline.heatmap import LiveHeatmap
from realtime.pipeline.overlay import side_by_side

BENCH_SEED = 7
ROW_WIDTH = 52       # rows are printed as measured, so the longest name (a CUDA soak row) sets it
DECIMALS = {"ms": 3, "x real time": 2}   # batch speeds sit near 0.5, where one decimal hides a 20% change
LOOP_WINDOWS = 400   # the per-window loop is slow; time this many windows and report the rate


def _timed(fn, repeat: int, device: torch.device) -> float:
    """Seconds per call of fn, after one warm-up call."""
    fn()
    sync(device)
    start = time.perf_counter()
    for _ in range(repeat):
        fn()
    sync(device)
    return (time.perf_counter() - start) / repeat


def machine(device: torch.device) -> str:
    """What the rows are measured on: the same code runs several times faster on another CPU, so rows
    of runs on different machines do not compare."""
    parts = [f"{_cpu_name()}, {os.cpu_count()} cores, {torch.backends.cpu.get_cpu_capability()}"
             + (" with bf16" if cpu_computes_in(torch.bfloat16) else ""),
             f"torch {torch.__version__}, {torch.get_num_threads()} threads"]
    if device.type == "cuda":
        parts.append(torch.cuda.get_device_name(device))
    return "; ".join(parts)


def _cpu_name() -> str:
    return cpuinfo("model name") or platform.processor() or "unknown CPU"


def world_fps(frames: int) -> float:
    world = FarmWorld(seed=BENCH_SEED)
    start = time.perf_counter()
    for i in range(frames):
        world.render(i)
    return frames / (time.perf_counter() - start)


def detector_fps(detector: HunterDetector, frames: list, batch: int) -> float:
    start = time.perf_counter()
    for i in range(0, len(frames), batch):
        detector(frames[i:i + batch] if batch > 1 else frames[i])
    sync(detector.device)
    return len(frames) / (time.perf_counter() - start)


def window_rates(detector: HunterDetector, frame) -> tuple[int, float, float, float]:
    """(windows per frame, dense windows/s, per-window-loop windows/s, whole-scan windows/s).

    Dense scoring and the loop do the same work: from the frame's pyramid levels to every window's
    class probabilities, with the same network. The loop works as the source notebook did: cut each
    window from its level, convert it to a tensor and classify it on its own. The whole scan also
    builds the pyramid and groups the windows above threshold into detections.
    """
    levels = pyramid(frame, detector.scales_for(frame.shape[0]))
    corners = [(level.image, y, x) for level in levels
               for y in range(0, level.image.shape[0] - WINDOW + 1, 9)
               for x in range(0, level.image.shape[1] - WINDOW + 1, 9)]
    subset = corners[:LOOP_WINDOWS]

    def loop():
        for image, y, x in subset:
            crop = bgr_to_tensor([image[y:y + WINDOW, x:x + WINDOW]], detector.device)
            detector.classifier(crop).softmax(1)

    dense = _timed(lambda: detector.level_probabilities(levels), 20, detector.device)
    whole = _timed(lambda: detector.scan([frame]), 20, detector.device)
    with torch.inference_mode():
        looped = _timed(loop, 1, detector.device)
    return len(corners), len(corners) / dense, len(subset) / looped, len(corners) / whole


def pipeline_fps(detector: HunterDetector, frames: list, heatmap: bool = False,
                 mode: str = "camouflage") -> tuple[float, dict]:
    """Detect, defend (paste camouflage blocks, or another `mode`), rescan and draw the side-by-side
    view, per frame in order; with `heatmap`, also update the live RISE map and blend it over the
    defended view. Returns frames per second and the mean milliseconds per frame of each stage."""
    library = BlockLibrary.load(DEFAULT_LIBRARY, detector.labels, detector.classifier.input_size)
    live = LiveHeatmap(detector.classifier) if heatmap else None
    pipeline = pipeline_for(detector, library, mode, heatmap=live)
    stages = {}
    start = time.perf_counter()
    for frame in frames:
        result = pipeline(frame)
        side_by_side(result, mode)
        for stage, ms in result.timings.items():
            stages[stage] = stages.get(stage, 0.0) + ms / len(frames)
    return len(frames) / (time.perf_counter() - start), stages


def paste_ms(repeat: int = 2000) -> float:
    """Milliseconds to paste one 25x25 block scaled to 60 px on a 640x360 frame."""
    frame, block = np.zeros((360, 640, 3), np.uint8), np.zeros((25, 25, 3), np.uint8)
    centre, side = np.array([[320.0, 180.0]]), np.array([60.0])
    start = time.perf_counter()
    for _ in range(repeat):
        paste_at(frame, block, centre, side)
    return (time.perf_counter() - start) / repeat * 1000


def explain_rows(device: torch.device, n: int) -> list[tuple[str, float, str]]:
    """Mask generation and full RISE, ours against the notebook's way, also under bf16 autocast on a CPU
    that computes in bf16; on CUDA, ResNet-50 fp32 and bf16."""
    ours, loop, fill = mask_rates(n, device)
    rows = [(f"RISE masks 224x224 ({device.type})", ours, "masks/s"), ("RISE masks, notebook loop (cpu)", loop, "masks/s"),
            ("RISE masks, ours / notebook", ours / loop, "x"),
            (f"  merely filling as much fresh memory ({device.type})", fill, "masks/s"),
            ("  filling / notebook", fill / loop, "x")]
    model = resnet18(torch.device("cpu"))
    ours_s = rise_seconds(model, n, torch.device("cpu"), notebook=False)
    notebook_s = rise_seconds(model, n, torch.device("cpu"), notebook=True)
    passes_s = model_pass_seconds(model, n)
    rows += [(f"RISE ResNet-18 N={n} 224x224 (cpu)", ours_s * 1000, "ms/map"),
             (f"RISE ResNet-18 N={n}, notebook pipeline (cpu)", notebook_s * 1000, "ms/map"),
             ("RISE full map, notebook / ours", notebook_s / ours_s, "x"),
             ("  the model's passes alone (cpu)", passes_s * 1000, "ms/map"),
             ("  notebook / the model's passes alone", notebook_s / passes_s, "x")]
    if cpu_computes_in(torch.bfloat16):
        bf16_s = rise_seconds(model, n, torch.device("cpu"), notebook=False, autocast=torch.bfloat16)
        bf16_passes_s = model_pass_seconds(model, n, autocast=torch.bfloat16)
        rows += [(f"RISE ResNet-18 N={n} bf16 autocast (cpu)", bf16_s * 1000, "ms/map"),
                 ("RISE full map, notebook / ours in bf16", notebook_s / bf16_s, "x"),
                 ("  the model's passes alone in bf16 (cpu)", bf16_passes_s * 1000, "ms/map"),
                 ("  notebook / the model's passes alone in bf16", notebook_s / bf16_passes_s, "x")]
    if device.type == "cuda":
        from torchvision.models import resnet50

        torch.manual_seed(0)
        big = resnet50(weights=None).eval().to(device)
        for dtype, name in ((None, "fp32"), (torch.bfloat16, "bf16")):
            seconds = rise_seconds(big, n, device, notebook=False, autocast=dtype)
            rows += [(f"RISE ResNet-50 N={n} 224x224 {name} (cuda)", seconds * 1000, "ms/map"),
                     (f"RISE ResNet-50 masked images {name} (cuda)", n / seconds, "images/s")]
    return rows


def app_rows(detector: HunterDetector, frames: int, soak: int) -> list[tuple[str, float, str]]:
    dev = detector.device.type
    rows = [(f"saviour live --no-window, blocks + drawing ({dev})", live_fps(detector, frames, False), "frames/s"),
            (f"the same, --workers 1 ({dev})", live_fps(detector, frames, False, workers=1), "frames/s"),
            (f"saviour live --no-window + heatmap ({dev})", live_fps(detector, frames, True), "frames/s"),
            (f"saviour batch, 1280x720 30 FPS clip ({dev})", batch_speed(detector, frames), "x real time"),
            (f"the same, --view defended ({dev})", batch_speed(detector, frames, "defended"), "x real time")]
    if soak:
        growth, end = soak_growth_mb(detector, soak)
        rows += [(f"live soak: resident growth over {soak} frames ({dev})", growth, "MB"),
                 (f"live soak: resident size at the end ({dev})", end, "MB")]
    return rows


def block_rows(device: torch.device) -> list[tuple[str, float, str]]:
    """Seconds to make each block of the default library with `saviour blocks generate`, as shipped."""
    from realtime.cli import main  # the command itself, so the rows time exactly what a user runs

    rows = []
    with tempfile.TemporaryDirectory() as library:
        for recipe in DEFAULT_RECIPES:
            start = time.perf_counter()
            if main(["blocks", "generate", *recipe, "--method", "eot", "--out", library, "--device", device.type]):
                raise SaviourError(f"blocks generate {' '.join(recipe)} failed")
            name = f"block generation, {' '.join(recipe[1::2])} ({device.type})"
            rows.append((name, time.perf_counter() - start, "s"))
    rows.append((f"block generation, default library of {len(rows)} ({device.type})", sum(r[1] for r in rows), "s"))
    return rows


def run_bench(frames: int, device: torch.device, rise_n: int = 4000, soak: int = 0,
              blocks: bool = False, photos: str | None = None, ray: bool = False) -> list[tuple[str, float, str]]:
    """Measure and print every row; each row is printed as soon as it is measured (a full run takes
    minutes), and all of them are returned."""
    devices = [device] if device.type == "cpu" or not torch.cuda.is_available() else [torch.device("cpu"), device]
    rows = []

    def report(*measured: tuple[str, float, str]) -> None:
        for name, value, unit in measured:
            tqdm.write(f"{name:<{ROW_WIDTH}}  {value:>12.{DECIMALS.get(unit, 1)}f}  {unit}")
        rows.extend(measured)

    tqdm.write(f"machine: {machine(device)}")
    tqdm.write(f"{'benchmark':<{ROW_WIDTH}}  {'value':>12}  unit")
    report(("world render 640x360", world_fps(frames), "frames/s"), ("paste one block (60 px)", paste_ms(), "ms"))
    world = FarmWorld(seed=BENCH_SEED)
    images = [world.render(i)[0] for i in tqdm(range(frames), desc="render", unit="frame", leave=False)]
    for dev in devices:
        detector = HunterDetector(load_classifier("hunter", device=dev))
        report((f"detector 640x360, batch 1 ({dev.type})", detector_fps(detector, images, 1), "frames/s"),
               (f"detector 640x360, batch 16 ({dev.type})", detector_fps(detector, images, 16), "frames/s"))
        count, dense, looped, whole = window_rates(detector, images[0])
        report((f"dense scoring, {count} windows/frame ({dev.type})", dense, "windows/s"),
               (f"per-window loop, same windows ({dev.type})", looped, "windows/s"),
               (f"dense / per-window ({dev.type})", dense / looped, "x"),
               (f"  whole scan: pyramid, scoring, grouping ({dev.type})", whole, "windows/s"),
               (f"  whole scan / per-window ({dev.type})", whole / looped, "x"))
        fps, stages = pipeline_fps(detector, images)
        report((f"defended pipeline + drawing 640x360 ({dev.type})", fps, "frames/s"),
               (f"  clean detection ({dev.type})", stages["detect"], "ms/frame"),
               (f"  rescan of the defended frame ({dev.type})", stages["detect_after"], "ms/frame"))
        report((f"defended pipeline + live RISE heatmap ({dev.type})", pipeline_fps(detector, images, True)[0],
                "frames/s"))
        pgd = f"PGD {round(ATTACK_EPS['pgd'] * 255)}/255 x{ATTACK_STEPS['pgd']} steps"
        report((f"pipeline, on-the-fly {pgd} ({dev.type})", pipeline_fps(detector, images, mode="pgd")[0], "frames/s"))
        report(*app_rows(detector, frames, soak))
        report(*real_world_rows(dev, frames))
    report(*explain_rows(device, rise_n))
    if photos is not None:
        from realtime.bench.rise_quality import rise_quality_rows

        report(*rise_quality_rows(photos))
    if blocks:
        report(*block_rows(device))
    if ray:
        from realtime.bench.engines import engine_rows

        report(*engine_rows())
    return rows
