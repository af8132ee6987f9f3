import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from realtime.io import sources
from realtime.cli import main
from realtime.live.keys import ESC, KEY_HELP, LiveState, draw_help, handle_key
from realtime.live.recorder import GIF_SECONDS, Recorder
from realtime.live.window import enlarged
from farm.world import FarmWorld


@pytest.mark.parametrize("keys, expected", [
    ("b", {"blocks": False, "mode": "none"}),
    ("d", {"decoys": True, "mode": "camouflage+decoys"}),
    ("bd", {"mode": "decoys"}),
    ("h", {"heatmap": True}),
    ("vv", {"view": 2}),
    ("vvv", {"view": 0}),
    (" ", {"paused": True}),
    ("?", {"help": True}),
    ("q", {"quit": True}),
])
def test_keys_switch_the_state(keys, expected):
    state = LiveState()
    for key in keys:
        handle_key(state, ord(key))
    assert {name: getattr(state, name) for name in expected} == expected


def test_esc_quits_and_s_r_are_actions():
    state = LiveState()
    assert handle_key(state, ord("s")) == "snapshot" and handle_key(state, ord("r")) == "record"
    handle_key(state, ESC)
    assert state.quit


def test_the_help_overlay_is_a_dark_box_with_a_line_per_key():
    shown = np.full((360, 640, 3), 200, np.uint8)   # a bright scene: yellow text alone would not read
    draw_help(shown)
    box = shown[40:48 + 18 * len(KEY_HELP), 230:410]
    assert np.median(box) < 60
    text_rows = np.flatnonzero((box.max(axis=(1, 2)) > 150))
    assert len(np.split(text_rows, np.flatnonzero(np.diff(text_rows) > 1) + 1)) == len(KEY_HELP)


def test_headless_run_records_mp4_and_gif(tmp_path, capsys):
    record = tmp_path / "run.mp4"
    assert main(["live", "--no-window", "--max-frames", "12", "--record", str(record), "--device", "cpu"]) == 0
    assert record.stat().st_size > 0 and record.with_suffix(".gif").stat().st_size > 0
    assert "12 frames" in capsys.readouterr().out


class UnpluggedCamera:
    """A stand-in for cv2.VideoCapture: the first one opened delivers farm-world frames at 30 FPS and
    then nothing more, as a camera pulled out mid-run; every later one opens but delivers nothing."""

    opened, frames, interval = 0, 45, 1 / 30

    def __init__(self, index):
        UnpluggedCamera.opened += 1
        self.world = FarmWorld(seed=4242, size=(320, 180))
        self.left, self.shown = (self.frames if UnpluggedCamera.opened == 1 else 0), 0

    def isOpened(self):
        return True

    def get(self, prop):
        return 30.0 if prop == cv2.CAP_PROP_FPS else 0.0

    def read(self):
        time.sleep(self.interval)
        if self.shown == self.left:
            return False, None
        self.shown += 1
        return True, self.world.render(self.shown)[0]

    def release(self):
        pass


def test_a_camera_unplugged_mid_run_ends_the_run_with_a_finished_recording_and_exit_code_1(tmp_path, monkeypatch,
                                                                                        capsys):
    monkeypatch.setattr(UnpluggedCamera, "opened", 0)
    monkeypatch.setattr(sources.cv2, "VideoCapture", UnpluggedCamera)
    record = tmp_path / "run.mp4"
    code = main(["live", "--source", "0", "--no-window", "--retries", "2", "--record", str(record), "--device", "cpu"])
    err = capsys.readouterr().err
    assert code == 1 and UnpluggedCamera.opened == 3
    assert "camera 0: no frame; reopening in 0.5 s (1 of 2)" in err and "camera 0: still no frame after 2" in err
    assert err.splitlines()[-1].startswith("saviour: error: 0: the source was lost after ")
    with av.open(str(record)) as video:
        assert 0 < sum(1 for _ in video.decode(video=0)) <= 45
    assert record.with_suffix(".gif").stat().st_size > 0 and not list(tmp_path.glob(".*.part"))


def test_a_live_recording_plays_at_the_pace_it_was_shown_not_the_cameras_nominal_rate(tmp_path, monkeypatch):
    monkeypatch.setattr(UnpluggedCamera, "opened", 0)
    monkeypatch.setattr(UnpluggedCamera, "interval", 1 / 8)     # says 30 FPS, delivers 8
    monkeypatch.setattr(sources.cv2, "VideoCapture", UnpluggedCamera)
    record = tmp_path / "run.mp4"
    assert main(["live", "--source", "0", "--no-window", "--max-frames", "12", "--record", str(record),
                 "--device", "cpu"]) == 0
    with av.open(str(record)) as container:
        stream = container.streams.video[0]
        frames, seconds = stream.frames, float(stream.duration * stream.time_base)
    assert frames == 12 and 1.1 < seconds < 3.0          # about 11 intervals of 1/8 s; at 30 FPS 0.4 s
    with Image.open(record.with_suffix(".gif")) as gif:
        shown_ms = sum(gif.seek(i) or gif.info["duration"] for i in range(gif.n_frames))
    assert 1100 < shown_ms < 3000


def test_a_small_view_is_enlarged_by_a_whole_factor_and_a_normal_one_kept():
    small = np.arange(120 * 400 * 3, dtype=np.uint32).astype(np.uint8).reshape(120, 400, 3)
    big = enlarged(small)
    assert big.shape == (360, 1200, 3) and (big[::3, ::3] == small).all()
    normal = np.zeros((360, 1280, 3), np.uint8)
    assert enlarged(normal) is normal


def test_a_recording_keeps_its_size_and_proportions_when_the_view_changes(tmp_path):
    recorder = Recorder(tmp_path / "run.mp4", fps=10)
    side_by_side, after_only = np.full((180, 640, 3), 200, np.uint8), np.full((180, 320, 3), 90, np.uint8)
    for frame in (side_by_side, after_only, after_only):
        recorder.write(frame)
    recorder.close()
    with av.open(str(tmp_path / "run.mp4")) as container:
        last = list(container.decode(video=0))[-1].to_ndarray(format="bgr24")
    assert last.shape == (180, 640, 3)
    assert last[:, :150].max() < 20 and abs(int(last[:, 200:440].mean()) - 90) < 8   # centred, not stretched
    with Image.open(tmp_path / "run.gif") as gif:
        assert gif.size == (480, 135)


def test_a_long_recording_keeps_every_frame_in_the_mp4_and_its_opening_in_the_gif(tmp_path):
    """GIF frames wait in memory until the GIF is written, so an hour-long --record must not keep them all."""
    recorder = Recorder(tmp_path / "long.mp4", fps=10)
    frames = GIF_SECONDS * 10 + 50
    for i in range(frames):
        frame = np.zeros((36, 64, 3), np.uint8)
        frame[:, i % 64] = 255     # consecutive frames differ, so the GIF merges none
        recorder.write(frame)
    recorder.close()
    with av.open(str(tmp_path / "long.mp4")) as container:
        assert sum(1 for _ in container.decode(video=0)) == frames
    with Image.open(tmp_path / "long.gif") as gif:
        assert gif.n_frames == GIF_SECONDS * 10 and gif.size == (480, 270)


def test_files_and_the_world_play_at_their_own_rate_in_a_window():
    from blocks.choices import DEFAULT_LIBRARY
    from blocks.library import BlockLibrary
    from engine.detection.hunter import HunterDetector
    from engine.models import load_classifier
    from realtime.live.app import LiveApp, playback_pace
    from realtime.io.sources import WorldSource

    world = WorldSource(seed=0, frames=8)
    assert playback_pace(world, window=True, fast=False) == world.fps
    assert playback_pace(world, window=False, fast=False) is None and playback_pace(world, True, True) is None
    detector = HunterDetector(load_classifier("hunter", device="cpu"))
    library = BlockLibrary.load(DEFAULT_LIBRARY, detector.labels, 25)
    app = LiveApp(detector, library, world, "cpu", window=False, workers=1, pace=10.0)
    start = time.perf_counter()
    app.run()
    assert app.frames == 8 and time.perf_counter() - start >= 7 / 10   # headless unpaced: about 0.2 s


def test_a_snapshot_or_recording_that_cannot_be_written_warns_and_the_run_goes_on(tmp_path, capsys):
    from blocks.choices import DEFAULT_LIBRARY
    from blocks.library import BlockLibrary
    from engine.detection.hunter import HunterDetector
    from engine.models import load_classifier
    from realtime.live.app import LiveApp
    from realtime.io.sources import WorldSource

    blocker = tmp_path / "file"
    blocker.write_text("")
    detector = HunterDetector(load_classifier("hunter", device="cpu"))
    library = BlockLibrary.load(DEFAULT_LIBRARY, detector.labels, 25)
    app = LiveApp(detector, library, WorldSource(seed=0, frames=2), "cpu", window=False, out_dir=blocker / "live")
    shown = app.step(FarmWorld(seed=0).render(0)[0])
    app._keys(ord("s"), shown)
    app._keys(ord("r"), shown)
    assert app.saved == [] and app.recorder is None
    assert capsys.readouterr().err.count("saviour: warning: ") == 2


def test_live_bad_source(tmp_path, capsys):
    assert main(["live", "--no-window", "--source", str(tmp_path / "none.mp4")]) == 2
    assert "no such video file" in capsys.readouterr().err
    assert main(["live", "--no-window", "--source", "screen:1,2"]) == 2
    assert "screen:x,y,w,h" in capsys.readouterr().err


def test_a_library_without_camouflage_blocks_stops_before_the_first_frame(tmp_path, capsys, library_without_camouflage):
    out_dir = tmp_path / "live"
    code = main(["live", "--no-window", "--max-frames", "3", "--library", str(library_without_camouflage),
                 "--out-dir", str(out_dir)])
    out, err = capsys.readouterr()
    assert code == 2 and "no camouflage block for terrain" in err
    assert "frames," not in out and not out_dir.exists()   # no run summary, nothing written


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="X displays are a Linux matter")
def test_without_a_display_the_window_and_the_screen_are_one_line_errors(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("DISPLAY", raising=False)
    record = tmp_path / "run.mp4"
    assert main(["live", "--max-frames", "1", "--record", str(record), "--device", "cpu"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "saviour: error: no display to open a window on (DISPLAY is not set): add --no-window, or set DISPLAY"]
    assert not record.exists()
    assert main(["live", "--no-window", "--source", "screen", "--max-frames", "1", "--device", "cpu"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("saviour: error: screen: cannot capture it") and len(err.splitlines()) == 1


needs_x = pytest.mark.skipif(not (shutil.which("Xvfb") and shutil.which("xdotool")), reason="needs Xvfb and xdotool")


@pytest.fixture
def display():
    number = 90 + os.getpid() % 9
    server = subprocess.Popen(["Xvfb", f":{number}", "-screen", "0", "1600x900x24"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    env = dict(os.environ, DISPLAY=f":{number}", QT_LOGGING_RULES="*=false")
    yield env
    server.terminate()
    server.wait()


def xdotool(env, *args) -> str:
    return subprocess.run(["xdotool", *args], env=env, capture_output=True, text=True, timeout=20).stdout.strip()


def window_width(env, window) -> int:
    geometry = xdotool(env, "getwindowgeometry", window)
    return int(geometry.split("Geometry:")[1].split("x")[0])


def wait_for(condition, timeout=60.0):
    end = time.time() + timeout
    while time.time() < end:
        result = condition()
        if result:
            return result
        time.sleep(0.3)
    raise AssertionError("timed out")


def grab(env, region):
    code = ("import mss, numpy, sys; s = getattr(mss, 'MSS', mss.mss)(); "
            f"numpy.save(sys.argv[1], numpy.asarray(s.grab({region!r}))[..., :3])")
    path = Path(env["SHOT_DIR"]) / f"shot{time.time_ns()}.npy"
    subprocess.run([sys.executable, "-c", code, str(path)], env=env, check=True, timeout=30)
    return np.load(path)


AFTER_VIEW = {"left": 0, "top": 0, "width": 640, "height": 360}


def start_in_after_view(env, tmp_path, *flags) -> tuple[subprocess.Popen, str]:
    """`saviour live` in a window, switched from side by side to the defended view alone and moved to
    the screen's corner (AFTER_VIEW)."""
    app = subprocess.Popen([sys.executable, "-m", "realtime", "live", *flags, "--out-dir", str(tmp_path),
                            "--device", "cpu"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        window = wait_for(lambda: xdotool(env, "search", "--name", "saviour live").split("\n")[0])
        assert wait_for(lambda: window_width(env, window) == 1280)             # side by side
        xdotool(env, "windowactivate", "--sync", window)
        xdotool(env, "key", "--window", window, "v")
        assert wait_for(lambda: window_width(env, window) == 640)              # after only
        xdotool(env, "windowmove", "--sync", window, "0", "0")
    except BaseException:
        app.kill()
        raise
    time.sleep(1.0)
    return app, window


@needs_x
def test_keys_in_a_real_window_change_the_view(display, tmp_path):
    env = dict(display, SHOT_DIR=str(tmp_path))
    app, window = start_in_after_view(env, tmp_path)
    try:
        plain = grab(env, AFTER_VIEW).astype(int)
        xdotool(env, "key", "--window", window, "h")                          # heatmap on: jet colours
        time.sleep(3.0)
        heat = grab(env, AFTER_VIEW).astype(int)
        assert np.abs(heat - plain).mean() > 10
        xdotool(env, "key", "--window", window, "s")
        wait_for(lambda: (tmp_path / "snapshot-001.png").exists())
        xdotool(env, "key", "--window", window, "q")
        assert app.wait(timeout=30) == 0
    finally:
        if app.poll() is None:
            app.kill()


def blue_share(bgr: np.ndarray) -> float:
    return float(((bgr[..., 0] > bgr[..., 1] + 60) & (bgr[..., 0] > bgr[..., 2] + 60)).mean())


@needs_x
def test_a_real_model_runs_in_a_window_with_its_evidence_heatmap(display, tmp_path):
    env = dict(display, SHOT_DIR=str(tmp_path))
    app, window = start_in_after_view(env, tmp_path, "--model", "efficientnet_lite0")
    try:
        plain = grab(env, AFTER_VIEW).astype(int)
        for key in ("b", "h"):                      # the patch off, the class-evidence heatmap on
            xdotool(env, "key", "--window", window, key)
        time.sleep(3.0)
        heat = grab(env, AFTER_VIEW).astype(int)
        assert blue_share(heat) > blue_share(plain) + 0.15          # the jet colours of little evidence
        xdotool(env, "key", "--window", window, "q")
        assert app.wait(timeout=30) == 0
        out, err = app.communicate()
        assert "frames" in out and "Traceback" not in err
    finally:
        if app.poll() is None:
            app.kill()


def press_close_button(display_name: str, window: int) -> None:
    """Ask a window to close as a window manager's close button does: a WM_DELETE_WINDOW message
    (Xvfb runs no window manager, and xdotool can only destroy or kill a window)."""
    class ClientMessage(ctypes.Structure):
        _fields_ = [("type", ctypes.c_int), ("serial", ctypes.c_ulong), ("send_event", ctypes.c_int),
                    ("display", ctypes.c_void_p), ("window", ctypes.c_ulong), ("message_type", ctypes.c_ulong),
                    ("format", ctypes.c_int), ("data", ctypes.c_long * 5)]

    class Event(ctypes.Union):
        _fields_ = [("xclient", ClientMessage), ("pad", ctypes.c_long * 24)]

    x11 = ctypes.CDLL(ctypes.util.find_library("X11"))
    x11.XOpenDisplay.restype, x11.XOpenDisplay.argtypes = ctypes.c_void_p, [ctypes.c_char_p]
    x11.XInternAtom.restype, x11.XInternAtom.argtypes = ctypes.c_ulong, [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
    x11.XSendEvent.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_int, ctypes.c_long, ctypes.POINTER(Event)]
    x11.XCloseDisplay.argtypes = [ctypes.c_void_p]
    connection = x11.XOpenDisplay(display_name.encode())
    event = Event()
    event.xclient.type, event.xclient.window, event.xclient.format = 33, window, 32   # 33: ClientMessage
    event.xclient.message_type = x11.XInternAtom(connection, b"WM_PROTOCOLS", 0)
    event.xclient.data[0] = x11.XInternAtom(connection, b"WM_DELETE_WINDOW", 0)
    x11.XSendEvent(connection, window, 0, 0, ctypes.byref(event))
    x11.XCloseDisplay(connection)   # flushes the request


@needs_x
@pytest.mark.skipif(not ctypes.util.find_library("X11"), reason="needs libX11 to send the close request")
def test_the_windows_close_button_quits_and_qt_prints_no_font_warnings(display, tmp_path):
    env = {k: v for k, v in display.items() if k != "QT_LOGGING_RULES"}   # Qt's own warnings shown
    app = subprocess.Popen([sys.executable, "-m", "realtime", "live", "--out-dir", str(tmp_path), "--device", "cpu"],
                           env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        window = wait_for(lambda: xdotool(env, "search", "--name", "saviour live").split("\n")[0])
        time.sleep(1.0)
        press_close_button(env["DISPLAY"], int(window))
        assert app.wait(timeout=30) == 0
        out, err = app.communicate()
        assert "frames" in out and "Traceback" not in err
        if os.path.isdir("/usr/share/fonts"):
            assert "Cannot find font directory" not in err
    finally:
        if app.poll() is None:
            app.kill()


@needs_x
def test_screen_source_captures_a_region_of_the_display(display, tmp_path, capsys):
    record = tmp_path / "screen.mp4"
    start = time.monotonic()
    code = subprocess.run([sys.executable, "-m", "realtime", "live", "--source", "screen:0,0,320,180", "--no-window",
                           "--max-frames", "20", "--record", str(record), "--device", "cpu"],
                          env=display, capture_output=True, text=True, timeout=120)
    seconds = time.monotonic() - start
    assert code.returncode == 0, code.stderr
    assert record.exists() and "20 frames" in code.stdout
    grabbed = 20 + int(re.search(r"(\d+) dropped", code.stdout).group(1))
    # at the screen reader's 30 FPS, not as fast as the display answers (a thousand grabs for twenty
    # frames); how many of them the pipeline drops depends on how fast this machine runs it
    assert grabbed <= 30 * seconds * 1.2
