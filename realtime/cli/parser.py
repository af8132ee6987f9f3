"""The `saviour` command line (also `python -m realtime`)."""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
from importlib import metadata

from engine.errors import SaviourError
from engine.files import describe_failure
from realtime.cli.app_parsers import add_batch, add_bench, add_demo, add_detect, add_gif, add_live
from realtime.cli.config import apply as apply_config
from realtime.cli.model_parsers import (add_attack_explanation, add_blocks, add_evaluate, add_evaluate_defences,
                                        add_explain, add_train_farm, add_train_hunter)

EXIT_FAILED = 1
EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 130
QUIET = "-8"    # FFmpeg's AV_LOG_QUIET


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="saviour", description="Save the chickens: a hunter network, its detector and the farm world.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    for add in (add_detect, add_train_hunter, add_train_farm, add_explain,
                add_attack_explanation, add_evaluate, add_evaluate_defences, add_blocks, add_demo,
                add_batch, add_gif, add_live, add_bench):
        add(sub)
    return parser


def _version() -> str:
    try:
        return metadata.version("deep-chicken-saviour")
    except metadata.PackageNotFoundError:   # run from a source tree that was never installed
        return "(not installed)"


def _unrecognized(extra: list[str], argv: list[str]) -> str:
    """argparse's message for arguments it did not expect, with the likely cause when a shell expanded
    an unquoted `--source` glob into several files."""
    message = f"unrecognized arguments: {' '.join(extra)}"
    given_source = any(arg == "--source" or arg.startswith("--source=") for arg in argv)
    if given_source and all(os.path.exists(arg) for arg in extra):
        message += ("; --source takes one value: quote a glob so the shell passes it on unexpanded, "
                    "e.g. --source 'frames/*.png'")
    return message


def _terminate(signum, frame):
    """SIGTERM as Ctrl-C: every command then removes its partial files the way it does on Ctrl-C.
    Later signals are ignored, so that clean-up is not itself cut short."""
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    raise KeyboardInterrupt


def _forget_interrupt() -> None:
    """Mark the interrupt handled. CPython 3.11 records one that left code run by exec() (dataclasses
    build their __init__ so, at import) as unhandled even once caught, and `python -m` then ends the
    process by SIGINT instead of with our exit code. Python 3.12 and later keep the flag out of reach;
    there only `python -m realtime`, not the `saviour` script, may still end so."""
    try:
        ctypes.c_int.in_dll(ctypes.pythonapi, "_Py_UnhandledKeyboardInterrupt").value = 0
    except ValueError:
        pass


def main(argv: list[str] | None = None) -> int:
    previous = signal.signal(signal.SIGTERM, _terminate)   # first, so start-up (seconds of imports) is covered
    try:
        return _main(argv)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _main(argv: list[str] | None) -> int:
    # FFmpeg (inside OpenCV) prints its own errors, such as a refused stream connection, beside ours;
    # an environment setting of the user's own still wins
    os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", QUIET)
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra:
        parser.error(_unrecognized(extra, sys.argv[1:] if argv is None else argv))
    try:
        if getattr(args, "config", None) or getattr(args, "set", None):
            apply_config(args.parser, args.config, args.set)
            args = parser.parse_args(argv)
        code = args.func(args)
    except SaviourError as error:
        print(f"saviour: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        _forget_interrupt()
        print("saviour: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except OSError as error:   # a full disk or a vanished folder mid-run: the writers removed their partial files
        print(f"saviour: error: {describe_failure(error)}", file=sys.stderr)
        return EXIT_FAILED
    return code or 0
