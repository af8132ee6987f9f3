"""`saviour bench`: the command; the rows are realtime.bench."""

from __future__ import annotations

import argparse

from engine.device import resolve_device
from engine.errors import SaviourError


def bench(args: argparse.Namespace) -> None:
    from realtime.bench.rows import run_bench

    if args.frames < 1 or args.rise_n < 1:
        raise SaviourError(f"--frames and --rise-n must be at least 1, got {args.frames} and {args.rise_n}")
    if args.soak < 0:
        raise SaviourError(f"--soak must be 0 (off) or a number of frames, got {args.soak}")
    run_bench(frames=args.frames, device=resolve_device(args.device), rise_n=args.rise_n, soak=args.soak,
              blocks=args.blocks, photos=args.images, ray=args.ray)


