"""A disk that fills up mid-run, simulated with a file-size limit on the command's process: every
write past the limit fails in the OS as it would on a full disk, whichever library writes."""

import errno
import resource
import signal
import subprocess
import sys

import pytest

from engine.files import atomic_path, final_name, write_atomically
from tests.media import world_clip

LIMIT = 40_000   # bytes: more than any summary or log line, less than any of the videos below


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a failed write, not a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    return world_clip(tmp_path_factory.mktemp("clips") / "farm.mp4", 30)


@pytest.mark.parametrize("command, output", [
    (["batch", "{clip}", "--out", "{out}"], "farm/annotated.mp4"),
    (["live", "--source", "{clip}", "--no-window", "--record", "{out}/live.mp4"], "live.mp4"),
    (["demo", "--frames", "20", "--out", "{out}"], "demo.mp4"),
])
def test_a_full_disk_ends_with_one_line_and_no_partial_file(tmp_path, clip, command, output):
    out = tmp_path / "out"
    args = [part.format(clip=clip, out=out) for part in command]
    run = subprocess.run([sys.executable, "-m", "realtime", *args, "--device", "cpu"], capture_output=True,
                         text=True, timeout=300, preexec_fn=_limit_file_size)
    errors = [line for line in run.stderr.splitlines() if line.startswith("saviour: error:")]
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert errors == [f"saviour: error: {out / output}: File too large"]
    assert not (out / output).exists()
    assert not [p for p in out.rglob("*") if p.name.endswith(".part")]


def test_a_failed_atomic_write_leaves_nothing_and_names_the_final_file(tmp_path):
    target = tmp_path / "report.json"
    with pytest.raises(OSError) as failure:
        with atomic_path(target) as tmp:
            tmp.write_text("half a rep")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert failure.value.filename == str(target) and list(tmp_path.iterdir()) == []
    write_atomically(target, "whole")
    assert target.read_text() == "whole" and list(tmp_path.iterdir()) == [target]
    assert final_name(tmp_path / ".report.json.part") == target and final_name(target) == target
