"""Test inputs written with the project's own tools."""

from realtime.video import Mp4Writer
from realtime.world import FarmWorld


def world_clip(path, frames: int):
    """An MP4 of the farm world (seed 4242, 320x180, 30 FPS), written by the project's own writer."""
    world = FarmWorld(seed=4242, size=(320, 180))
    with Mp4Writer(path, fps=30) as video:
        for i in range(frames):
            video.write(world.render(i)[0])
    return path
