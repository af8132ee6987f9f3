from pathlib import Path

import pytest

from realtime.cli import config
from realtime.cli import build_parser, main

CONFIGS = Path(__file__).parents[3] / "configs"


def subcommand(*names):
    parser = build_parser()
    for name in names:
        parser = next(a for a in parser._actions if a.dest in ("command", "blocks_command")).choices[name]
    return parser


@pytest.mark.parametrize("file, command", [("demo.yaml", ["demo"]), ("batch.yaml", ["batch"]),
                                           ("blocks.yaml", ["blocks", "generate"]), ("webcam.yaml", ["live"])])
def test_each_config_holds_every_setting_at_its_default(file, command):
    parser = subcommand(*command)
    values = config.checked(parser, config.load_config(CONFIGS / file), file)
    assert set(values) == set(config.options(parser))
    defaults = {dest: action.default for dest, action in config.options(parser).items()}
    if file == "webcam.yaml":
        defaults["source"] = "0"     # the one setting that differs: a webcam instead of the farm world
    assert values == defaults


def test_flags_beat_set_which_beats_the_file(tmp_path):
    file = tmp_path / "mine.yaml"
    file.write_text("fraction: 0.6\nframes: 50\nmode_unused: 1\n".replace("mode_unused: 1\n", "cube: true\n"))
    argv = ["demo", "--config", str(file), "--set", "frames=70", "--frames", "90"]
    parser = build_parser()
    args = parser.parse_args(argv)
    config.apply(args.parser, args.config, args.set)
    args = parser.parse_args(argv)
    assert (args.fraction, args.frames, args.cube) == (0.6, 90, True)
    args = parser.parse_args(argv[:-2])
    assert args.frames == 70


@pytest.mark.parametrize("text, message", [
    ("fracton: 0.6\n", "unknown key 'fracton' for 'saviour demo' (did you mean 'fraction'? known: "),
    ("colour: red\n", "unknown key 'colour' for 'saviour demo' (known: "),
    ("frames: many\n", "frames: expected an integer, got 'many'"),
    ("frames: 2.5\n", "frames: expected an integer"),
    ("cube: 3\n", "cube: expected true or false"),
    ("heatmap: grad\n", "heatmap: expected one of none, rise"),
    ("frames: 0\n", "frames: expected an integer of at least 1, got 0"),
    ("fraction: 2.5\n", "fraction: expected a block fraction in (0, 2], got 2.5"),
    ("- a list\n", "expected a mapping"),
    ("frames: [1,\n", "not valid YAML"),
])
def test_a_bad_config_names_the_file_and_key_and_exits_2(tmp_path, capsys, text, message):
    file = tmp_path / "demo.yaml"
    file.write_text(text)
    assert main(["demo", "--config", str(file), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert str(file) in err and message in err and not (tmp_path / "o").exists()


@pytest.mark.parametrize("command, text, message", [
    (["batch", "x.mp4"], "workers: 0\n", "workers: expected an integer of at least 1, got 0"),
    (["batch", "x.mp4"], "batch_size: -3\n", "batch_size: expected an integer of at least 1, got -3"),
    (["live"], "retries: -1\n", "retries: expected an integer of at least 0, got -1"),
    (["blocks", "generate"], "scene_steps: -1\n", "scene_steps: expected an integer of at least 0, got -1"),
])
def test_out_of_range_settings_in_any_config_name_the_file(tmp_path, capsys, command, text, message):
    file = tmp_path / "settings.yaml"
    file.write_text(text)
    assert main([*command, "--config", str(file)]) == 2
    err = capsys.readouterr().err
    assert str(file) in err and message in err


def test_out_of_range_flags_exit_2_with_the_range(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["live", "--workers", "0"])
    assert exit_.value.code == 2 and "expected an integer of at least 1, got 0" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["blocks", "generate", "--scene-steps", "-1"])
    assert exit_.value.code == 2 and "expected an integer of at least 0, got -1" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_:
        main(["batch", "x.mp4", "--min-size", "0"])
    assert exit_.value.code == 2 and "expected auto or a positive number of pixels, got '0'" in capsys.readouterr().err


def test_bad_set_and_missing_config(tmp_path, capsys):
    assert main(["demo", "--set", "fraction"]) == 2
    assert "expected key=value" in capsys.readouterr().err
    assert main(["batch", "x.mp4", "--config", str(tmp_path / "none.yaml")]) == 2
    assert "no such config file" in capsys.readouterr().err


@pytest.mark.parametrize("text, expected", [("min_size: auto\n", None), ("min_size: 40\n", 40.0),
                                            ("min_size: small\n", "min_size: expected auto or a positive number")])
def test_min_size_is_auto_or_pixels(tmp_path, text, expected):
    file = tmp_path / "batch.yaml"
    file.write_text(text)
    if isinstance(expected, str):
        with pytest.raises(config.SaviourError, match=expected):
            config.checked(subcommand("batch"), config.load_config(file), str(file))
    else:
        assert config.checked(subcommand("batch"), config.load_config(file), str(file)) == {"min_size": expected}
