"""Reading the project's YAML files with errors that name the file; writing files all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from engine.errors import SaviourError


def read_yaml(path: str | Path):
    """The file's YAML content (yaml.safe_load); SaviourError naming the file when it does not parse."""
    try:
        return yaml.safe_load(Path(path).read_text())
    except yaml.YAMLError as error:
        raise SaviourError(f"{path}: not valid YAML ({str(error).splitlines()[0]})") from None


PARTIAL = ".part"


def partial_name(path: str | Path) -> Path:
    """The hidden name beside `path` that a file is written under until it is complete."""
    path = Path(path)
    return path.with_name(f".{path.name}{PARTIAL}")


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary name beside `path` to write to: renamed to `path` when the block completes, removed
    when it fails (a full disk, Ctrl-C), so no truncated file is ever left under the final name."""
    path = Path(path)
    tmp = partial_name(path)
    try:
        yield tmp
        tmp.replace(path)
    except OSError as error:
        if error.filename is None:   # Python's and Pillow's write errors do not say which file
            error.filename = str(path)
        raise
    finally:
        tmp.unlink(missing_ok=True)


def write_atomically(path: str | Path, data: str | bytes) -> None:
    """Write text or bytes to `path` through `atomic_path`."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data.encode() if isinstance(data, str) else data)


def final_name(path: str | Path) -> Path:
    """The file a `partial_name` stands for (the path itself for any other name)."""
    path = Path(path)
    if path.name.startswith(".") and path.name.endswith(PARTIAL):
        return path.with_name(path.name[1:-len(PARTIAL)])
    return path
