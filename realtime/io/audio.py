"""Carrying a source video's sound over to the MP4 made from it, in step with the written frames.

A defended or annotated copy of a clip with a voice-over or game sound should keep it. Codecs an MP4
holds and browsers play are copied packet by packet; any other (PCM from a camera, Vorbis from a
WebM) is encoded as AAC. Only the sound under the written frames is kept. The sound is an extra:
when it cannot be read or encoded, a warning says so and the video is written without it (a write
error, such as a full disk, is the output's and is raised).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av

from engine.errors import warn

COPIED = {"aac", "mp3"}


class SoundTrack:
    """The first audio stream of a video file, muxed into an output container as its frames are written.

    Example:
        >>> track = SoundTrack.of("clip.mkv")           # None when the file has no sound
        >>> track.attach(container)                    # before the first packet is muxed
        >>> track.mux_until(container, seconds)        # after each written frame
        >>> track.finish(container, seconds)           # before the container closes
    """

    def __init__(self, path: Path, source, stream):
        self.path, self._source, self._input = path, source, stream
        self._start = _video_start(source)   # the written frames' time zero, in the source's seconds
        self._copy = stream.codec_context.name in COPIED
        self._items = source.demux(stream) if self._copy else source.decode(stream)
        self._pending = self._output = None

    @classmethod
    def of(cls, path: str | Path) -> "SoundTrack | None":
        """The file's sound, or None when it has none or cannot be read."""
        try:
            source = av.open(str(path))
        except (av.FFmpegError, OSError):
            return None
        if not source.streams.audio:
            source.close()
            return None
        return cls(Path(path), source, source.streams.audio[0])

    def attach(self, container) -> None:
        """Add the output's audio stream: a copy of the source's, or AAC at its rate and layout."""
        try:
            if self._copy:
                self._output = container.add_stream_from_template(self._input)
            else:
                rate, layout = _aac_settings(self._input.codec_context)
                self._output = container.add_stream("aac", rate=rate)
                self._output.layout = layout
        except (av.FFmpegError, ValueError) as error:
            self._give_up(error)

    def mux_until(self, container, seconds: float) -> None:
        """Mux the sound that starts before `seconds` of output time."""
        while self._output is not None:
            item = self._pending if self._pending is not None else self._next()
            self._pending = None
            if item is None:
                return
            if item.pts is None:   # a demuxer's flush packet
                continue
            at = float(item.pts * item.time_base) - self._start
            if at >= seconds:
                self._pending = item
                return
            if at >= 0:
                for packet in self._packets(item, at):
                    container.mux(packet)   # a write error is the output's, raised like the video's

    def finish(self, container, seconds: float) -> None:
        """Mux the sound under the whole video (`seconds` long), flush the encoder, close the source."""
        self.mux_until(container, seconds)
        if self._output is not None and not self._copy:
            for packet in self._encoded(None):
                container.mux(packet)
        self.close()

    def close(self) -> None:
        self._source.close()

    def _next(self):
        """The next packet (copying) or decoded frame of the source's sound, None at its end."""
        try:
            return next(self._items, None)
        except av.FFmpegError as error:
            self._give_up(error)
            return None

    def _packets(self, item, at: float) -> list:
        """The output packets for a source packet or frame that starts `at` seconds into the output."""
        if self._copy:
            shift = round(self._start / item.time_base)
            item.pts -= shift
            if item.dts is not None:
                item.dts -= shift
            item.stream = self._output
            return [item]
        item.pts, item.time_base = round(at * item.sample_rate), Fraction(1, item.sample_rate)
        return self._encoded(item)

    def _encoded(self, frame) -> list:
        try:
            return self._output.encode(frame)
        except (av.FFmpegError, ValueError) as error:
            self._give_up(error)
            return []

    def _give_up(self, error: Exception) -> None:
        """Stop carrying sound (what was muxed stays); the video goes on."""
        self._output = None
        warn(f"{self.path}: its sound could not be carried over ({error}); "
             "the rest of the video is written without it")


def _aac_settings(sound) -> tuple[int, str]:
    """A sample rate and channel layout the AAC encoder opens with, as near the source's as it has.
    (A stream it cannot open would fail the whole file when the container starts, too late to drop it.)
    Frames are resampled and mixed down to them as they are encoded."""
    rates = av.codec.Codec("aac", "w").audio_rates
    rate = min(rates, key=lambda r: abs(r - sound.sample_rate))
    return rate, sound.layout.name if sound.channels <= 2 else "stereo"


def _video_start(source) -> float:
    """When the source's first video frame is shown, in seconds (0 when it does not say)."""
    video = source.streams.video[0] if source.streams.video else None
    if video is None or video.start_time is None:
        return 0.0
    return float(video.start_time * video.time_base)
