"""Errors caused by user input; the CLI prints them as one line and exits with code 2. Warnings,
for what the run survives, are one line on stderr."""

import sys

from tqdm import tqdm


class SaviourError(Exception):
    """A problem with the user's input (a file, a setting, a value), explained in one line."""


def warn(message: str) -> None:
    """A warning on stderr; through tqdm, so it does not land inside a progress bar's line."""
    tqdm.write(f"saviour: warning: {message}", file=sys.stderr)
