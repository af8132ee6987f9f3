"""A disk that fills up mid-run, simulated with a file-size limit on the command's process: every
write past the limit fails in the OS as it would on a full disk, whichever library writes."""

import errno
import json
import resource
import signal
import subprocess
import sys

import pytest

from engine.files import atomic_path, final_name, partial_name, write_atomically
from tests.faults.conftest import errors, leftovers

LIMIT = 40_000   # bytes: more than any summary or log line, less than any of the videos below


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # a failed write, not a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def _run(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "realtime", *args, "--device", "cpu"], capture_output=True,
                          text=True, timeout=300, preexec_fn=_limit_file_size)


@pytest.mark.parametrize("command, output", [
    (["live", "--source", "{clip}", "--no-window", "--record", "{out}/live.mp4"], "live.mp4"),
    (["demo", "--frames", "20", "--out", "{out}"], "demo.mp4"),
])
def test_a_full_disk_ends_with_one_line_and_no_partial_file(tmp_path, clip, command, output):
    out = tmp_path / "out"
    run = _run([part.format(clip=clip, out=out) for part in command])
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert errors(run.stderr) == [f"saviour: error: {out / output}: File too large"]
    assert not (out / output).exists() and not leftovers(out)


def test_a_full_disk_fails_a_batch_input_with_its_reason(tmp_path, clip):
    out = tmp_path / "out"
    run = _run(["batch", str(clip), "--out", str(out)])
    reason = f"{out / 'clip' / 'annotated.mp4'}: File too large"
    assert run.returncode == 1 and "Traceback" not in run.stderr and f"saviour: failed: {reason}" in run.stderr
    assert json.loads((out / "batch_summary.json").read_text())["failed"] == [{"input": str(clip), "reason": reason}]
    assert not (out / "clip").exists() and not leftovers(out), list(out.rglob("*"))


def test_a_failed_atomic_write_leaves_nothing_and_names_the_final_file(tmp_path):
    target = tmp_path / "report.json"
    with pytest.raises(OSError) as failure:
        with atomic_path(target) as tmp:
            tmp.write_text("half a rep")
            raise OSError(errno.ENOSPC, "No space left on device")
    assert failure.value.filename == str(target) and list(tmp_path.iterdir()) == []
    write_atomically(target, "whole")
    assert target.read_text() == "whole" and list(tmp_path.iterdir()) == [target]
    assert final_name(partial_name(target)) == target and final_name(target) == target
    assert partial_name(target) != partial_name(target)   # two runs never share a temporary file
