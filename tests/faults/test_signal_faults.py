"""SIGTERM (and SIGINT, Ctrl-C) to a command that writes files: no partial file stays, the command
says so in one line and exits 130."""

import os
import signal
import sys

import av
import pytest

from tests.faults.conftest import finish, leftovers, saviour, wait_for


def interrupt(command: list[str], out, signum=signal.SIGTERM) -> str:
    """Run `command`, send `signum` once it writes its first partial file; its stderr, once it ended
    as an interrupted command does."""
    run = saviour(*command)
    wait_for(lambda: leftovers(out) or run.poll() is not None, what="the command's first frames")
    run.send_signal(signum)
    code, _, err = finish(run)
    assert code == 130 and "Traceback" not in err and err.splitlines()[-1] == "saviour: interrupted"
    assert not leftovers(out)
    return err


@pytest.mark.parametrize("command, output, signum", [
    (["detect", "--frames", "3000", "--out", "{out}/d.mp4"], "d.mp4", signal.SIGTERM),
    (["detect", "--frames", "3000", "--out", "{out}/d.mp4"], "d.mp4", signal.SIGINT),
    (["demo", "--frames", "3000", "--out", "{out}"], "demo.mp4", signal.SIGTERM),
])
def test_a_signal_mid_run_removes_the_unfinished_output(tmp_path, command, output, signum):
    out = tmp_path / "out"
    interrupt([part.format(out=out) for part in command], out, signum)
    assert not (out / output).exists()


def test_sigterm_ends_a_live_run_with_its_recording_finished(tmp_path):
    out = tmp_path / "out"
    interrupt(["live", "--no-window", "--max-frames", "3000", "--record", out / "live.mp4"], out)
    with av.open(str(out / "live.mp4")) as video:   # the frames shown until then, as a whole file
        assert 0 < sum(1 for _ in video.decode(video=0)) < 3000


@pytest.mark.skipif(sys.version_info[:2] != (3, 11), reason="the flag reset reaches CPython 3.11's flag only")
def test_an_interrupt_inside_exec_d_code_still_exits_130(tmp_path):
    """A signal that lands while exec() runs (dataclasses build their __init__ so, at import) must end
    `python -m realtime` with 130 too: CPython 3.11 otherwise re-raises it as SIGINT at exit."""
    (tmp_path / "sitecustomize.py").write_text(
        "import sys, types\n"
        "stand_in = types.ModuleType('realtime.commands.detect')\n"
        "stand_in.detect = lambda args: exec('raise KeyboardInterrupt')\n"
        "sys.modules[stand_in.__name__] = stand_in\n")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}
    code, _, err = finish(saviour("detect", "--frames", "1", "--out", tmp_path / "d.mp4", env=env))
    assert code == 130 and err.splitlines()[-1] == "saviour: interrupted"
