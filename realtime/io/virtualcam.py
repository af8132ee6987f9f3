"""The defended frames as a virtual camera (pyvirtualcam, the `virtualcam` extra), for a video call
or a stream: the frame with its blocks and decoys (and heatmap when on), without the hunter's overlay."""

from __future__ import annotations

import cv2
import numpy as np

from engine.errors import SaviourError

INSTALL_HINT = "pip install 'deep-chicken-saviour[virtualcam]'"


class VirtualCamera:
    """Opens the first free virtual camera at the first frame's size; later frames of another size
    (a camera reopened at a new resolution) are resized to it, since a virtual camera's size is fixed."""

    def __init__(self, fps: float, device: str | None = None):
        try:
            import pyvirtualcam
        except ImportError:
            raise SaviourError(f"--virtual-camera needs pyvirtualcam: {INSTALL_HINT}") from None
        self.module, self.fps, self.device = pyvirtualcam, fps, device
        self.camera, self.name, self.sent = None, None, 0

    def send(self, frame_bgr: np.ndarray) -> None:
        if self.camera is None:
            self.camera = self._open(frame_bgr.shape[1], frame_bgr.shape[0])
            self.name = self.camera.device
        size = (self.camera.width, self.camera.height)
        if (frame_bgr.shape[1], frame_bgr.shape[0]) != size:
            frame_bgr = cv2.resize(frame_bgr, size, interpolation=cv2.INTER_AREA)
        self.camera.send(np.ascontiguousarray(frame_bgr))
        self.sent += 1

    def _open(self, width: int, height: int):
        try:
            return self.module.Camera(width, height, self.fps, fmt=self.module.PixelFormat.BGR, device=self.device)
        except RuntimeError as error:
            raise SaviourError(f"no virtual camera to send to: {error} (Linux: sudo modprobe v4l2loopback)") from None

    def close(self) -> None:
        if self.camera is not None:
            self.camera.close()
            self.camera = None
