"""Test inputs: the farm world written with the project's own writer, or with PyAV where a test
needs what our writer does not make (sound)."""

from fractions import Fraction

import av
import numpy as np

from realtime.io.video import Mp4Writer
from farm.world import FarmWorld


def world_clip(path, frames: int):
    """An MP4 of the farm world (seed 4242, 320x180, 30 FPS), written by the project's own writer."""
    world = FarmWorld(seed=4242, size=(320, 180))
    with Mp4Writer(path, fps=30) as video:
        for i in range(frames):
            video.write(world.render(i)[0])
    return path


def clip_with_sound(path, frames: int, audio_codec: str, fps: int = 30, rate: int = 44100):
    """A 320x180 farm-world clip with a 440 Hz tone as its sound, in `audio_codec` ("aac", or
    "pcm_s16le" in a .mov, as a camera records it); video and sound both frames / fps seconds long."""
    world = FarmWorld(seed=4242, size=(320, 180))
    seconds = np.arange(frames * rate // fps) / rate
    tone = (0.3 * np.sin(2 * np.pi * 440 * seconds)).astype(np.float32)
    pcm = audio_codec.startswith("pcm_s16")
    with av.open(str(path), "w") as out:
        video = out.add_stream("mpeg4", rate=fps)
        video.width, video.height, video.pix_fmt = 320, 180, "yuv420p"
        sound = out.add_stream(audio_codec, rate=rate)
        sound.layout = "mono"
        for i in range(frames):
            out.mux(video.encode(av.VideoFrame.from_ndarray(world.render(i)[0], format="bgr24")))
        for start in range(0, len(tone), 1024):
            part = tone[start:start + 1024][None]
            frame = av.AudioFrame.from_ndarray((part * 32767).astype(np.int16) if pcm else part,
                                               format="s16" if pcm else "fltp", layout="mono")
            frame.sample_rate, frame.pts, frame.time_base = rate, start, Fraction(1, rate)
            out.mux(sound.encode(frame))
        out.mux(video.encode())
        out.mux(sound.encode())
    return path


def streams(path) -> dict:
    """Per stream type of a media file: (codec name, seconds, frames or packets)."""
    with av.open(str(path)) as container:
        return {s.type: (s.codec_context.name, float(s.duration * s.time_base), s.frames) for s in container.streams}
