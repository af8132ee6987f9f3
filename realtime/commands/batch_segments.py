"""An input of `saviour batch` as time segments: each processed on its own (a task of its own on a cluster),
then joined into the input's outputs without re-encoding.

A segment's video is its own H.264 stream, so it starts with a keyframe and references nothing before
it; the joined MP4 is its packets one after another, retimed (PyAV remux), with the input's sound laid
under them. The log's lines carry their frame numbers in the whole input, so the logs join by
concatenation. Both engines run the same plan, so they write the same bytes.

An input is split only when its frames can be processed each on its own (see
`DefendedPipeline.frame_by_frame`) and it is a video file whose frame count is known.

With several segments, each one's files go to OUT/<name>/segments/: NNNN.mp4, NNNN.jsonl and, written
last, NNNN.json, which marks it done for this input and these settings, so a segment finished before a
crash is not redone. A single segment writes the input's own files directly.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av

from engine.detection.detections import target_point
from engine.errors import SaviourError
from engine.files import atomic_path, write_atomically
from realtime.commands.batch import open_input
from realtime.io.audio import SoundTrack
from realtime.io.sinks import JsonlSink, VideoSink
from realtime.io.sources import VideoFileSource
from realtime.pipeline.memory import HeapTrimmer
from realtime.pipeline.overlay import output_view
from realtime.pipeline.runner import run

SEGMENTS = "segments"


@dataclass(frozen=True)
class Segment:
    """Frames [start, stop) of an input (stop None: to its end); `index` of `count` in its plan."""

    index: int
    count: int
    start: int = 0
    stop: int | None = None

    @property
    def alone(self) -> bool:
        return self.count == 1

    def files(self, folder: Path, view: str) -> tuple[Path, Path]:
        """(video, log): the input's own when this is its only segment."""
        if self.alone:
            return folder / video_name(view), folder / "frames.jsonl"
        stem = folder / SEGMENTS / f"{self.index:04d}"
        return stem.with_suffix(".mp4"), stem.with_suffix(".jsonl")

    def marker(self, folder: Path) -> Path:
        """The stats file that marks one of several segments done."""
        return folder / SEGMENTS / f"{self.index:04d}.json"


def video_name(view: str) -> str:
    """The output video's name: the hunter's overlay makes it annotated; the bare defended view is not."""
    return "defended.mp4" if view == "defended" else "annotated.mp4"


def plan(source, seconds: float | None, split: bool) -> list[Segment]:
    """Near-equal segments of at most `seconds` of a video file (one segment when it is not to be split,
    its length is unknown, or `seconds` is None or 0)."""
    frames = source.frames
    if not split or not seconds or not isinstance(source, VideoFileSource) or not frames:
        return [Segment(0, 1)]
    count = max(1, math.ceil(frames / max(1, round(seconds * source.fps))))
    starts = [round(k * frames / count) for k in range(count)] + [None]
    return [Segment(k, count, starts[k], starts[k + 1]) for k in range(count)]


def finished(segment: Segment, folder: Path, record: dict) -> dict | None:
    """The stats of a segment done before for this input and these settings, else None."""
    if segment.alone:
        return None    # a whole input is done when its summary is: the batch itself checks that
    try:
        stats = json.loads(segment.marker(folder).read_text())
    except (OSError, ValueError):
        return None
    same = stats.get("record") == record and stats.get("segment") == asdict(segment)
    return stats if same else None


def process_segment(path: Path, segment: Segment, folder: Path, pipeline, batch_size: int, progress,
                    workers: int, view: str, record: dict) -> dict:
    """Run one segment of the input at `path` through the pipeline; write its video and log (and, when it
    is one of several, its stats); return the stats. A run that fails leaves no partial file."""
    from realtime.commands.batch_input import frame_record

    video_path, log_path = segment.files(folder, view)
    video_path.parent.mkdir(parents=True, exist_ok=True)
    source = open_input(path, frames=segment.stop)
    aimed, trimmer, started = {"before": 0, "after": 0}, HeapTrimmer(), time.perf_counter()

    def tally(result) -> None:
        aimed["before"] += target_point(result.before) is not None
        aimed["after"] += target_point(result.after) is not None
        trimmer.tick()
        progress.update(1)

    sound = source.sound if segment.alone else None     # a split input's sound is laid under the joined video
    with (JsonlSink(log_path, lambda r, i: frame_record(segment.start + i, r)) as log,
          VideoSink(video_path, source.fps, lambda r: output_view(r, pipeline.mode, view), sound_of=sound) as video):
        frames = run(source.frames_from(segment.start), pipeline.detect_and_defend,
                     [pipeline.add_heatmap, video.write, log.write, tally], workers, batch_size)
    stats = {"segment": asdict(segment), "record": record, "mode": pipeline.mode,
             "frames": frames, "fps_source": source.fps,
             "seconds": round(time.perf_counter() - started, 2), "frames_aimed_at_a_chicken": aimed,
             "truncated": bool(getattr(source, "truncated", False))}
    if not segment.alone:
        write_atomically(segment.marker(folder), json.dumps(stats, indent=2) + "\n")
    return stats


def open_folder(folder: Path) -> bool:
    """Make ready an input's output folder: its summary removed first (the input is not done until it
    is written again), the folder created; True when this call created it."""
    (folder / "summary.json").unlink(missing_ok=True)
    made = not folder.exists()
    folder.mkdir(parents=True, exist_ok=True)
    return made


def discard_segments(folder: Path) -> None:
    """Forget the segments done before: the input is redone from its start."""
    shutil.rmtree(folder / SEGMENTS, ignore_errors=True)


def remove_empty(folder: Path, made: bool) -> None:
    """After a failed run: remove an empty segments' folder, and the input's folder if this run made it
    and it is empty."""
    for path, ours in ((folder / SEGMENTS, True), (folder, made)):
        if ours and path.is_dir() and not any(path.iterdir()):
            path.rmdir()


def join(folder: Path, segments: list[Segment], view: str, sound_of: Path | None) -> None:
    """Join the segments' videos and logs into the input's own; remove the segments' folder."""
    if len(segments) == 1:
        return
    video, log = folder / video_name(view), folder / "frames.jsonl"
    parts = [segment.files(folder, view) for segment in segments]
    with atomic_path(log) as tmp, open(tmp, "wb") as out:
        for _, part_log in parts:
            with open(part_log, "rb") as part:
                shutil.copyfileobj(part, out)
    videos = [part_video for part_video, _ in parts if part_video.exists()]   # a truncated input's tail has none
    if not videos:
        raise SaviourError(f"{folder}: no frames were read from the input")
    remux(videos, video, sound_of)
    shutil.rmtree(folder / SEGMENTS)


def remux(videos: list[Path], out: Path, sound_of: Path | None = None) -> None:
    """MP4 files of one H.264 stream each (same size, rate and encoder settings), one after another in
    one MP4, without decoding; with the sound of `sound_of` under them when it has some."""
    with atomic_path(out) as tmp:
        with av.open(str(tmp), "w", format="mp4", options={"movflags": "+faststart"}) as container:
            stream, sound, offset = None, None, Fraction(0)
            for path in videos:
                with av.open(str(path)) as part:
                    if stream is None:
                        stream = container.add_stream_from_template(part.streams.video[0])
                        sound = SoundTrack.of(sound_of) if sound_of is not None else None
                        if sound is not None:
                            sound.attach(container)
                    offset = _remux_packets(part, stream, container, sound, offset)
            if sound is not None:
                sound.finish(container, float(offset))


def _remux_packets(part, stream, container, sound, offset: Fraction) -> Fraction:
    """Mux the packets of `part`'s video `offset` seconds later; return the time its last frame ends."""
    end = offset
    for packet in part.demux(part.streams.video[0]):
        if packet.dts is None:   # the demuxer's flush packet
            continue
        shift = round(offset / packet.time_base)     # muxing rescales from the packet's time base
        packet.pts, packet.dts, packet.stream = packet.pts + shift, packet.dts + shift, stream
        end = max(end, (packet.pts + packet.duration) * packet.time_base)
        if sound is not None:
            sound.mux_until(container, float(packet.pts * packet.time_base))
        container.mux(packet)
    return end
