"""`saviour live --virtual-camera`: the defended frames go to a virtual camera (a stand-in here:
a real one needs a loopback device this machine does not have)."""

import sys
import types

import numpy as np
import pytest

from realtime.cli import main


class FakeCamera:
    opened = []

    def __init__(self, width, height, fps, fmt=None, device=None):
        self.width, self.height, self.fps, self.fmt, self.device = width, height, fps, fmt, device or "/dev/video9"
        self.frames, self.closed = [], False
        FakeCamera.opened.append(self)

    def send(self, frame):
        assert frame.shape == (self.height, self.width, 3) and frame.dtype == np.uint8
        self.frames.append(frame.copy())

    def close(self):
        self.closed = True


@pytest.fixture
def fake_pyvirtualcam(monkeypatch):
    FakeCamera.opened = []
    module = types.SimpleNamespace(Camera=FakeCamera, PixelFormat=types.SimpleNamespace(BGR="BGR"))
    monkeypatch.setitem(sys.modules, "pyvirtualcam", module)
    return module


def test_live_sends_each_defended_frame_to_the_virtual_camera(fake_pyvirtualcam, capsys):
    assert main(["live", "--no-window", "--max-frames", "6", "--virtual-camera", "--device", "cpu"]) == 0
    camera, = FakeCamera.opened
    assert (camera.width, camera.height, camera.fmt) == (640, 360, "BGR")   # the frame, not the side-by-side view
    assert len(camera.frames) >= 6 and camera.closed
    assert "to the virtual camera /dev/video9" in capsys.readouterr().out


def test_frames_of_another_size_are_fitted_to_the_open_camera(fake_pyvirtualcam):
    from realtime.io.virtualcam import VirtualCamera

    camera = VirtualCamera(fps=30)
    camera.send(np.zeros((360, 640, 3), np.uint8))
    camera.send(np.full((720, 1280, 3), 200, np.uint8))
    assert [f.shape for f in FakeCamera.opened[0].frames] == [(360, 640, 3)] * 2
    assert FakeCamera.opened[0].frames[1].mean() == 200


def test_missing_package_or_device_is_one_clear_error(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "pyvirtualcam", None)        # not installed
    assert main(["live", "--no-window", "--max-frames", "2", "--virtual-camera", "--device", "cpu"]) == 2
    assert "deep-chicken-saviour[virtualcam]" in capsys.readouterr().err

    def no_device(*args, **kwargs):
        raise RuntimeError("no v4l2 loopback device found")

    module = types.SimpleNamespace(Camera=no_device, PixelFormat=types.SimpleNamespace(BGR="BGR"))
    monkeypatch.setitem(sys.modules, "pyvirtualcam", module)
    assert main(["live", "--no-window", "--max-frames", "2", "--virtual-camera", "--device", "cpu"]) == 2
    assert "v4l2loopback" in capsys.readouterr().err
