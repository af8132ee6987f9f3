"""The fault battery's helpers: the real command in a child process, a local HTTP server, test clips."""

import http.server
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.media import world_clip


@pytest.fixture(scope="session")
def clip(tmp_path_factory) -> Path:
    """A 30-frame farm-world clip (320x180, 30 FPS, H.264 with the index first)."""
    return world_clip(tmp_path_factory.mktemp("clips") / "clip.mp4", 30)


def saviour(*args, **options) -> subprocess.Popen:
    """`saviour ARGS --device cpu` started in a child process, its output piped."""
    return subprocess.Popen([sys.executable, "-m", "realtime", *map(str, args), "--device", "cpu"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **options)


def finish(process: subprocess.Popen, timeout: float = 180) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


def errors(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("saviour: error:")]


def wait_for(condition, timeout: float = 120, what: str = "a condition") -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def leftovers(folder: Path) -> list[Path]:
    """Partial files left anywhere under `folder`."""
    return [p for p in folder.rglob("*") if p.name.endswith(".part")]


class Served:
    """Files of a folder served on 127.0.0.1; the first `cut` responses stop after `cut_bytes` bytes,
    as a connection that drops mid-download."""

    def __init__(self, folder: Path):
        self.folder, self.requests, self.cut, self.cut_bytes = folder, 0, 0, 0
        served = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                served.requests += 1
                data = (served.folder / self.path.lstrip("/")).read_bytes()
                cut = served.requests <= served.cut
                self.send_response(200)
                self.send_header("Content-Type", "video/mp4")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    self.wfile.write(data[:served.cut_bytes] if cut else data)
                except (BrokenPipeError, ConnectionResetError):
                    pass
                if cut:
                    self.close_connection = True

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/{name}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def served(tmp_path):
    server = Served(tmp_path)
    yield server
    server.close()


def is_root() -> bool:
    return hasattr(os, "geteuid") and os.geteuid() == 0
