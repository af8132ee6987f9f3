"""Reading the project's YAML files with errors that name the file; writing files all or nothing;
one writer at a time per output folder."""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import yaml

from engine.errors import SaviourError

try:
    import fcntl
except ImportError:   # Windows: no advisory locks; folder_lock then only writes its note
    fcntl = None


class _UniqueKeyLoader(yaml.SafeLoader):
    """yaml.SafeLoader that refuses a mapping with a key twice: plain YAML keeps the last value
    silently, so a setting written twice would apply only one of them without a word."""

    def construct_mapping(self, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if isinstance(key, str) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (line {key_node.start_mark.line + 1})", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep)


def read_yaml(path: str | Path):
    """The file's YAML content, loaded as yaml.safe_load does but refusing duplicate keys;
    SaviourError naming the file when it does not parse."""
    try:
        return yaml.load(Path(path).read_text(), Loader=_UniqueKeyLoader)   # noqa: S506 (a SafeLoader)
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None)
        reason = problem if problem and problem.startswith("duplicate key") else str(error).splitlines()[0]
        raise SaviourError(f"{path}: not valid YAML ({reason})") from None


PARTIAL = ".part"
_PARTIAL_PATTERN = re.compile(r"\.(.+)\.\d+-[0-9a-f]{6}\.part")


def partial_name(path: str | Path) -> Path:
    """A hidden name beside `path` that a file is written under until it is complete; unique to the
    call, so two runs writing the same output never write into one temporary file."""
    path = Path(path)
    return path.with_name(f".{path.name}.{os.getpid()}-{secrets.token_hex(3)}{PARTIAL}")


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


def is_partial(path: str | Path) -> bool:
    """Whether `path` is a `partial_name`: a file still being written, or left by a writer that died."""
    return _PARTIAL_PATTERN.fullmatch(Path(path).name) is not None


def final_name(path: str | Path) -> Path:
    """The file a `partial_name` stands for (the path itself for any other name)."""
    path = Path(path)
    match = _PARTIAL_PATTERN.fullmatch(path.name)
    return path.with_name(match[1]) if match else path


def describe_failure(error: Exception) -> str:
    """One line for an error: a user's mistake as it says; a failed read or write naming the file the
    user asked for, not its temporary name; anything else with its kind, as an unexpected error."""
    if isinstance(error, SaviourError):
        return str(error)
    if isinstance(error, OSError):
        reason = error.strerror or str(error)
        return f"{final_name(error.filename)}: {reason}" if error.filename else reason
    message = str(error).strip().splitlines()[0] if str(error).strip() else "no message"
    return f"unexpected error ({type(error).__name__}: {message})"


LOCK = ".saviour.lock"


@contextmanager
def folder_lock(folder: str | Path) -> Iterator[Path]:
    """Hold the output folder `folder` for this run: a second run that asks for it while it is held
    gets a SaviourError naming the holder's process. The lock is the OS's (flock), so it ends with
    the holding process, however that ends; the small lock file stays as a hidden file."""
    folder = Path(folder)
    handle = open(folder / LOCK, "a+")
    try:
        if fcntl is not None:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                raise SaviourError(f"{folder}: another saviour run is writing there (process {holder}); "
                                   "wait for it to end or choose another --out") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield folder
    finally:
        handle.close()


def save_figure(figure, path: str | Path, dpi: int = 110) -> None:
    """Save and close a matplotlib figure as PNG; the file appears under its name only when complete."""
    import matplotlib.pyplot as plt

    figure.tight_layout()
    try:
        with atomic_path(path) as tmp:
            figure.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(figure)
