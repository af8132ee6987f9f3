import configparser
import os
import subprocess
import sys
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
import torch
import torchvision

from blocks.library import DEFAULT_RECIPES
from realtime.cli import build_parser, main
from tests.media import clip_with_sound, streams, world_clip


def leaf_commands(parser=None, prefix=""):
    """Every runnable command of the CLI by its full name ("detect", "blocks generate", ...) and its parser."""
    parser = parser or build_parser()
    for name, child in parser._subparsers._group_actions[0].choices.items():
        if child._subparsers is None:
            yield prefix + name, child
        else:
            yield from leaf_commands(child, prefix + name + " ")


COMMANDS = dict(leaf_commands())
WITHOUT_A_MODEL = {"blocks list"}   # reads a manifest only, so it has no --device


def run(capsys, *argv):
    code = main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_version_is_the_packaged_one(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    declared = configparser.ConfigParser()
    declared.read(Path(__file__).parents[3] / "setup.cfg")
    assert stop.value.code == 0
    assert capsys.readouterr().out.strip() == f"saviour {declared['metadata']['version']}"


def test_help_and_argument_errors_answer_without_loading_torch():
    """Importing torch takes seconds; `--help` and a mistyped argument should not wait for it."""
    script = ("import sys\nfrom realtime.cli import main\n"
              "try:\n    main(['batch', 'clip.mp4', '--mode', 'hide'])\n"
              "except SystemExit as stop:\n    print(stop.code, 'torch' in sys.modules)\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["2", "False"]
    assert "--mode: invalid choice: 'hide'" in result.stderr


def test_help_lists_subcommands_and_module_entry_point_is_the_same_cli():
    result = subprocess.run([sys.executable, "-m", "realtime", "--help"], capture_output=True, text=True, check=True)
    for name in {command.split()[0] for command in COMMANDS}:
        assert name in result.stdout


def test_the_command_line_starts_without_the_explanation_only_libraries():
    # Captum and SciPy's statistics take seconds to import; live, demo and batch never use them
    code = "import sys, realtime.cli.parser; print(sorted({'captum', 'scipy.stats'} & set(sys.modules)))"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_a_stream_that_refuses_the_connection_is_one_line_without_ffmpegs_own_message():
    env = {k: v for k, v in os.environ.items() if k != "OPENCV_FFMPEG_LOGLEVEL"}
    # port 9 (discard) has no listener here, so the connection is refused at once
    result = subprocess.run([sys.executable, "-m", "realtime", "live", "--source", "http://127.0.0.1:9/feed.mjpg",
                             "--no-window", "--device", "cpu"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["saviour: error: http://127.0.0.1:9/feed.mjpg: cannot open it"]


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_subcommand_has_help_with_examples(name):
    help_text = COMMANDS[name].format_help()
    assert "examples:" in help_text and f"saviour {name}" in help_text
    assert ("--device" in help_text) != (name in WITHOUT_A_MODEL)


def test_detect_writes_a_browser_playable_h264_video(tmp_path, capsys):
    out = tmp_path / "nested" / "hunter.mp4"
    code, stdout, _ = run(capsys, "detect", "--source", "world", "--frames", "6", "--out", str(out), "--device", "cpu")
    assert code == 0 and out.exists()
    with av.open(str(out)) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264" and stream.codec_context.pix_fmt == "yuv420p"
        assert sum(1 for _ in container.decode(stream)) == 6
    boxes = top_level_boxes(out.read_bytes())
    assert boxes.index("moov") < boxes.index("mdat")   # faststart: a browser can play it while it loads
    assert list(tmp_path.rglob("*.part")) == []


def top_level_boxes(data: bytes) -> list[str]:
    """The types of an MP4's top-level boxes, in file order."""
    boxes, at = [], 0
    while at + 8 <= len(data):
        size, kind = int.from_bytes(data[at:at + 4], "big"), data[at + 4:at + 8].decode("latin-1")
        boxes.append(kind)
        at += size if size >= 8 else len(data)
    return boxes


def test_detect_reads_a_video_file(tmp_path, capsys):
    clip = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(clip), cv2.VideoWriter_fourcc(*"MJPG"), 10, (160, 120))
    for _ in range(4):
        writer.write(np.full((120, 160, 3), 90, np.uint8))
    writer.release()
    out = tmp_path / "clip_hunter.mp4"
    code, _, _ = run(capsys, "detect", "--source", str(clip), "--out", str(out), "--device", "cpu")
    assert code == 0 and out.exists()


def test_a_truncated_video_gives_the_frames_it_has_and_a_warning(tmp_path, capsys):
    data = world_clip(tmp_path / "whole.mp4", 60).read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[:len(data) * 3 // 4])   # the index and the first frames survive
    out = tmp_path / "cut_hunter.mp4"
    code, stdout, err = run(capsys, "detect", "--source", str(cut), "--out", str(out), "--device", "cpu")
    with av.open(str(out)) as container:
        frames = container.streams.video[0].frames
    assert code == 0 and 0 < frames < 60 and f"wrote {out} ({frames} frames)" in stdout
    assert f"{cut}: the video ended after {frames} of 60 frames; it may be truncated" in err


def test_detect_keeps_the_sound_under_the_frames_it_wrote(tmp_path, capsys):
    clip = clip_with_sound(tmp_path / "talk.mp4", 30, "aac")
    out = tmp_path / "talk_hunter.mp4"
    code, _, err = run(capsys, "detect", "--source", str(clip), "--frames", "9", "--out", str(out), "--device", "cpu")
    found = streams(out)
    assert code == 0 and found["video"][2] == 9 and found["audio"][0] == "aac" and "warning" not in err
    assert found["audio"][1] == pytest.approx(9 / 30, abs=0.03)   # not the clip's whole second


def bad_weights(tmp_path):
    path = tmp_path / "resnet.pt"
    torch.save(torchvision.models.resnet18().state_dict(), path)
    return str(path)


@pytest.mark.parametrize("extra, message", [
    (["--source", "missing.mp4"], "missing.mp4: no such video file"),
    (["--source", "TEXT"], "cannot read it as a video"),
    (["--source", "EMPTY"], "empty.mp4: cannot read it as a video"),
    (["--source", "CUT"], "cut.mp4: cannot read it as a video"),
    (["--stride", "0"], "stride"),
    (["--scales", "0.5,-0.25"], "scales"),
    (["--threshold", "1.5"], "threshold"),
    (["--weights", "RESNET"], "do not fit the hunter architecture"),
])
def test_bad_input_exits_2_with_one_line_and_no_output(tmp_path, capsys, extra, message):
    text = tmp_path / "notes.mp4"
    text.write_text("this is not a video")
    (tmp_path / "empty.mp4").write_bytes(b"")
    cut = tmp_path / "cut.mp4"   # a download cut off inside the file's index
    cut.write_bytes(world_clip(tmp_path / "whole.mp4", 5).read_bytes()[:300])
    given = {"TEXT": str(text), "EMPTY": str(tmp_path / "empty.mp4"), "CUT": str(cut)}
    extra = [bad_weights(tmp_path) if v == "RESNET" else given.get(v, v) for v in extra]
    out = tmp_path / "out" / "result.mp4"
    code, _, err = run(capsys, "detect", "--out", str(out), "--device", "cpu", *extra)
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not out.exists() and not list(tmp_path.rglob("*.part"))


@pytest.mark.parametrize("argv, name, expected", [
    (["detect", "--frames", "2", "--out"], "view.gif", "this output is written as .mp4; name it view.mp4"),
    (["live", "--no-window", "--max-frames", "2", "--record"], "run.gif", "written as .mp4; name it run.mp4"),
    (["gif", "world", "--duration", "0.2", "--out"], "clip.mp4", "written as .gif; name it clip.gif"),
])
def test_an_output_named_for_another_format_is_refused(tmp_path, capsys, argv, name, expected):
    code, _, err = run(capsys, *argv, str(tmp_path / name), "--device", "cpu")
    assert code == 2 and expected in err and not list(tmp_path.iterdir())


@pytest.mark.parametrize("argv", [
    ["explain", "--crops", "1", "--methods", "saliency"],
    ["attack-explanation", "--crops", "1", "--steps", "1"],
    ["blocks", "generate", "--method", "sweep", "--steps", "4"],
])
def test_an_output_folder_that_is_a_file_stops_before_the_work(tmp_path, capsys, argv):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, out, err = run(capsys, *argv, "--out", str(blocker), "--device", "cpu")
    assert code == 2 and err.strip() == f"saviour: error: {blocker}: is a file; give a folder for the outputs"
    assert "wrote" not in out and blocker.read_text() == ""


def test_unwritable_output_folder(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, _, err = run(capsys, "detect", "--frames", "2", "--out", str(blocker / "x.mp4"), "--device", "cpu")
    assert code == 2 and "cannot write output" in err


def test_cuda_request_without_cuda_is_a_clear_error(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    code, _, err = run(capsys, "detect", "--frames", "2", "--out", str(tmp_path / "x.mp4"), "--device", "cuda")
    assert code == 2 and "CUDA is not available" in err


def test_train_hunter_on_an_image_folder(tmp_path, capsys, rng):
    for name, colour in [("chicken", (240, 240, 240)), ("pig", (160, 160, 240)), ("terrain", (40, 120, 70))]:
        (tmp_path / "patches" / name).mkdir(parents=True)
        for k in range(12):
            image = np.clip(np.array(colour) + rng.normal(0, 10, (30, 30, 3)), 0, 255).astype(np.uint8)
            cv2.imwrite(str(tmp_path / "patches" / name / f"{k}.png"), image)
    out = tmp_path / "mine.pt"
    code, stdout, _ = run(capsys, "train-hunter", "--patches", str(tmp_path / "patches"), "--epochs", "2",
                          "--filters", "8", "--out", str(out), "--device", "cpu")
    assert code == 0 and "held-out accuracy" in stdout
    assert (tmp_path / "mine.pt.sha256").exists()
    from engine.models import load_classifier
    mine = load_classifier(out, device="cpu")
    assert mine.labels == ("chicken", "pig", "panda", "terrain") and mine.features[0].out_channels == 8


def test_train_hunter_on_too_few_images_to_hold_any_out_reports_the_training_accuracy(tmp_path, capsys):
    for name, grey in [("chicken", 240), ("pig", 100)]:
        (tmp_path / "patches" / name).mkdir(parents=True)
        cv2.imwrite(str(tmp_path / "patches" / name / "0.png"), np.full((25, 25, 3), grey, np.uint8))
    code, stdout, _ = run(capsys, "train-hunter", "--patches", str(tmp_path / "patches"), "--epochs", "1",
                          "--out", str(tmp_path / "few.pt"), "--device", "cpu")
    assert code == 0 and "none measured, 2 images are too few" in stdout and (tmp_path / "few.pt").exists()
    from engine.models import load_classifier
    from engine.train import accuracy
    from farm.patches import folder_patches
    patches, labels, _ = folder_patches(tmp_path / "patches")
    expected = accuracy(load_classifier(tmp_path / "few.pt", device="cpu"), patches, labels)["overall"]
    assert f"training accuracy: {expected:.4f} of 2 (" in stdout


def test_train_hunter_rejects_a_missing_folder(tmp_path, capsys):
    code, _, err = run(capsys, "train-hunter", "--patches", str(tmp_path / "nope"), "--out", str(tmp_path / "h.pt"))
    assert code == 2 and "no such folder" in err and not (tmp_path / "h.pt").exists()


def test_train_hunter_rejects_a_class_balance_outside_0_1(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train-hunter", "--class-balance", "1.5", "--out", str(tmp_path / "h.pt")])
    assert exit_.value.code == 2 and "class balance in [0, 1]" in capsys.readouterr().err
    assert not (tmp_path / "h.pt").exists()


@pytest.mark.parametrize("argv, message", [
    (["train-hunter", "--epochs", "0"], "--epochs: expected an integer of at least 1, got 0"),
    (["train-hunter", "--filters", "0"], "--filters: expected an integer of at least 1, got 0"),
    (["train-hunter", "--worlds", "0"], "--worlds: expected an integer of at least 1, got 0"),
    (["train-hunter", "--weight-decay", "-0.1"], "--weight-decay: expected a number of at least 0, got -0.1"),
    (["train-farm", "--epochs", "0"], "--epochs: expected an integer of at least 1, got 0"),
    (["evaluate", "--frames", "0"], "--frames: expected an integer of at least 1, got 0"),
    (["detect", "--frames", "-5"], "--frames: expected an integer of at least 1, got -5"),
    (["explain", "--batch-size", "0"], "--batch-size: expected an integer of at least 1, got 0"),
    (["explain", "--crops", "0"], "--crops: expected an integer of at least 1, got 0"),
    (["explain", "--curve-steps", "0"], "--curve-steps: expected an integer of at least 1, got 0"),
    (["attack-explanation", "--steps", "0"], "--steps: expected an integer of at least 1, got 0"),
    (["attack-explanation", "--lr", "-1"], "--lr: expected a positive number, got -1.0"),
    (["attack-explanation", "--gamma", "-1"], "--gamma: expected a number of at least 0, got -1.0"),
    (["evaluate", "--size", "1280"], "--size: expected WIDTHxHEIGHT of at least 32x32 pixels, e.g. 1280x720, got '1280'"),
])
def test_counts_and_rates_out_of_range_stop_before_any_work(tmp_path, capsys, argv, message):
    out = tmp_path / "out.pt"
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--out", str(out)] if argv[0] != "evaluate" else argv)
    assert exit_.value.code == 2 and message in capsys.readouterr().err
    assert not out.exists()


def test_a_source_glob_the_shell_expanded_gets_a_hint_to_quote_it(tmp_path, capsys):
    frames = [tmp_path / f"f{i}.png" for i in range(3)]
    for path in frames:
        path.write_bytes(b"")
    out = tmp_path / "out.mp4"
    with pytest.raises(SystemExit) as exit_:
        main(["detect", "--source", *map(str, frames), "--out", str(out)])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and f"unrecognized arguments: {frames[1]} {frames[2]}" in err
    assert "quote a glob" in err and not out.exists()


def test_other_unexpected_arguments_get_no_glob_hint(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["detect", "--source", "world", "stray", "--out", "x.mp4"])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and "unrecognized arguments: stray" in err and "quote" not in err


def test_bench_blocks_times_the_generate_command_for_each_default_block(monkeypatch):
    import realtime.cli
    from realtime.bench.rows import block_rows

    commands = []
    monkeypatch.setattr(realtime.cli, "main", lambda argv: commands.append(argv) or 0)
    rows = block_rows(torch.device("cpu"))
    assert [tuple(argv[2:2 + len(recipe)]) for argv, recipe in zip(commands, DEFAULT_RECIPES)] == list(DEFAULT_RECIPES)
    assert len(commands) == len(DEFAULT_RECIPES) and all(argv[:2] == ["blocks", "generate"] for argv in commands)
    assert len(rows) == len(DEFAULT_RECIPES) + 1 and rows[-1][1] == pytest.approx(sum(r[1] for r in rows[:-1]))


def test_bench_prints_every_row(capsys):
    from engine.device import cpu_computes_in

    assert main(["bench", "--frames", "3", "--rise-n", "8", "--soak", "3", "--device", "cpu"]) == 0
    table = capsys.readouterr().out
    assert table.startswith("machine: ") and "cores" in table.splitlines()[0]
    for row in ["world render", "paste one block", "detector 640x360, batch 1", "dense scoring",
                "per-window loop", "dense / per-window", "defended pipeline", "live RISE heatmap",
                "RISE masks, ours / notebook", "RISE full map, notebook / ours", "saviour live --no-window",
                "saviour batch, 1280x720", "live soak: resident growth", "rescan of the defended frame",
                "the same, --workers 1", "the same, --view defended", "merely filling as much fresh memory",
                "notebook / the model's passes alone", "whole scan: pyramid, scoring, grouping",
                "whole scan / per-window", "real-world detector, efficientnet_lite0 640x360",
                "real-world pipeline, patch + evidence heatmap 640x360"]:
        assert row in table
    assert ("notebook / ours in bf16" in table) == cpu_computes_in(torch.bfloat16)
    assert ("passes alone in bf16" in table) == cpu_computes_in(torch.bfloat16)
