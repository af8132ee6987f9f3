"""Bad input: each is refused with one line naming the file, key or value, and exit code 2, before
anything is written; or, where it is valid, handled."""

import json
import shutil
from fractions import Fraction

import av
import numpy as np
import pytest
import yaml

from blocks.choices import DEFAULT_LIBRARY
from realtime.cli import main
from tests.faults.conftest import errors, leftovers
from tests.faults.test_batch_faults import one_pixel_video
from tests.media import world_clip


def refused(argv, capsys) -> str:
    """The one error line of a command that must stop with exit code 2."""
    code = main(list(map(str, argv)))
    err = capsys.readouterr().err
    lines = errors(err)
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_a_one_pixel_video_is_detected_and_written(tmp_path, capsys):
    out = tmp_path / "x.mp4"
    assert main(["detect", "--source", str(one_pixel_video(tmp_path / "one.mkv")), "--out", str(out),
                 "--device", "cpu"]) == 0
    with av.open(str(out)) as video:
        assert video.streams.video[0].frames == 4


def library_with(tmp_path, **change):
    library = tmp_path / "lib"
    shutil.copytree(DEFAULT_LIBRARY, library)
    manifest = yaml.safe_load((library / "manifest.yaml").read_text())
    manifest["blocks"][0].update(change)
    (library / "manifest.yaml").write_text(yaml.safe_dump(manifest))
    return library


@pytest.mark.parametrize("field, value, expected", [
    ("hunter_sha256", 12345, "hunter_sha256: expected the 64 hex digits of a SHA-256, got 12345"),
    ("success_rate", "high", "success_rate: expected a rate in [0, 1], got 'high'"),
    ("file", "../../outside.png", "file: expected a plain .png file name inside the library folder, "
                                  "got '../../outside.png'"),
    ("file", "/etc/passwd", "file: expected a plain .png file name inside the library folder, got '/etc/passwd'"),
])
@pytest.mark.parametrize("command", ["blocks list", "batch"])
def test_a_bad_manifest_field_stops_every_command_naming_file_block_and_field(tmp_path, clip, capsys, field, value,
                                                                             expected, command):
    library = library_with(tmp_path, **{field: value})
    argv = (["blocks", "list", library] if command == "blocks list"
            else ["batch", clip, "--library", library, "--out", tmp_path / "out", "--device", "cpu"])
    assert refused(argv, capsys) == f"saviour: error: {library / 'manifest.yaml'}: block 1: {expected}"
    assert not (tmp_path / "out").exists()


def test_scales_that_would_enlarge_the_frame_past_twice_are_refused(tmp_path, capsys):
    line = refused(["detect", "--frames", "2", "--scales", "100", "--out", tmp_path / "y.mp4", "--device", "cpu"],
                   capsys)
    assert line == "saviour: error: scales must be numbers in (0, 2] (a level at most 2x the frame's side), got 100"
    assert not (tmp_path / "y.mp4").exists() and not leftovers(tmp_path)


def test_random_bytes_are_not_called_pickled_objects(tmp_path, capsys):
    weights = tmp_path / "random.pt"
    weights.write_bytes(np.random.default_rng(0).bytes(5000))
    line = refused(["detect", "--frames", "2", "--weights", weights, "--out", tmp_path / "y.mp4",
                    "--device", "cpu"], capsys)
    assert line == (f"saviour: error: {weights}: not a PyTorch checkpoint (neither the zip archive torch.save "
                    "writes nor a legacy pickle)")


def test_a_config_with_a_key_twice_is_refused_naming_the_key(tmp_path, capsys):
    config = tmp_path / "batch.yaml"
    config.write_text("fraction: 0.6\nmode: decoys\nfraction: 1.0\n")
    line = refused(["batch", "x.mp4", "--config", config], capsys)
    assert line == f"saviour: error: {config}: not valid YAML (duplicate key 'fraction' (line 3))"


def test_an_empty_source_is_refused(capsys):
    line = refused(["live", "--source", "", "--no-window"], capsys)
    assert line.startswith("saviour: error: --source is empty: give world, a camera index")


def test_an_empty_batch_input_is_refused(tmp_path, capsys):
    line = refused(["batch", "", "--out", tmp_path / "out"], capsys)
    assert line == "saviour: error: an input is empty: give video files, folders or glob patterns"


def clip_with_broken_timescale(path, frames: int = 6):
    """An MP4 whose stream says 1/512 frames per second, as a container with a broken timescale."""
    source = world_clip(path.with_name("plain.mp4"), frames)
    with av.open(str(source)) as clip, av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=Fraction(1, 512))
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for frame in clip.decode(video=0):
            out.mux(stream.encode(av.VideoFrame.from_ndarray(frame.to_ndarray(format="bgr24"), format="bgr24")))
        out.mux(stream.encode())
    return path


def test_an_implausible_frame_rate_falls_back_to_30_with_a_warning(tmp_path, capsys):
    clip = clip_with_broken_timescale(tmp_path / "broken.mp4")
    out = tmp_path / "out"
    assert main(["batch", str(clip), "--out", str(out), "--view", "after", "--device", "cpu"]) == 0
    assert f"saviour: warning: {clip}: reports 0.001953 frames per second; using 30" in capsys.readouterr().err
    with av.open(str(out / "broken" / "annotated.mp4")) as video:
        assert video.streams.video[0].average_rate == 30
    assert json.loads((out / "broken" / "summary.json").read_text())["fps_source"] == 30
