"""`saviour live`: the command; the app itself is realtime.live."""

from __future__ import annotations

import argparse
import sys

from engine.device import resolve_device
from engine.errors import SaviourError
from realtime.commands.setup import detector_and_library
from realtime.io.sources import open_source
from realtime.io.video import prepare_output

EXIT_SOURCE_LOST = 1


def live(args: argparse.Namespace) -> int:
    from realtime.io.virtualcam import VirtualCamera
    from realtime.live.app import LiveApp, playback_pace
    from realtime.live.keys import LiveState
    from realtime.live.window import check_display

    if not args.no_window:
        check_display()   # before anything is loaded or opened
    camera = VirtualCamera(fps=30.0) if args.virtual_camera else None   # fails early when pyvirtualcam is missing
    if args.record:
        prepare_output(args.record, ".mp4")
    device = resolve_device(args.device)
    detector, library = detector_and_library(args, device)
    frames = args.max_frames if args.source != "world" else (args.max_frames or 10 ** 9)
    source = open_source(args.source, frames=frames, seed=args.seed, retries=args.retries)
    if camera is not None:
        camera.fps = source.fps
    if args.decoys and args.model != "hunter":
        source.close()
        raise SaviourError(f"--decoys are the hunter's ghost chickens; --model {args.model} has its patch alone")
    state = LiveState(blocks=not args.no_blocks, decoys=args.decoys, heatmap=args.heatmap == "rise",
                      cover="camouflage" if args.model == "hunter" else "patch")
    try:
        app = LiveApp(detector, library, source, str(device), args.fraction, window=not args.no_window,
                      out_dir=args.out_dir, state=state, workers=args.workers,
                      virtual_camera=camera, pace=playback_pace(source, not args.no_window, args.fast))
    except SaviourError:
        source.close()
        raise
    try:
        app.run(max_frames=args.max_frames, record=args.record)
    finally:
        print(f"{app.frames} frames, {app.fps:.1f} FPS at the end, {source.dropped} dropped")
        if camera is not None and camera.sent:
            print(f"sent {camera.sent} frames to the virtual camera {camera.name}")
        for path in app.saved:
            print(f"wrote {path}")
    if getattr(source, "lost", False):   # what was recorded is kept, but the run did not end as asked
        print(f"saviour: error: {args.source}: the source was lost after {app.frames} frames", file=sys.stderr)
        return EXIT_SOURCE_LOST
    return 0


