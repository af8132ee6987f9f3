"""The `saviour` command line: its parsers, its configs, and `main`."""

from realtime.cli.parser import build_parser, main

__all__ = ["build_parser", "main"]
