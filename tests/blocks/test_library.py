import re

import pytest
import torch
import yaml

from blocks.choices import DEFAULT_LIBRARY
from blocks.library import DEFAULT_RECIPES, MANIFEST, BlockLibrary
from blocks.transforms import Placement, success_rate
from engine.errors import SaviourError
from engine.models import HUNTER_LABELS, file_sha256, load_classifier, shipped_weights
from realtime.cli import main

HUNTER_SHA = file_sha256(shipped_weights("hunter"))


def load(folder, sha=HUNTER_SHA):
    return BlockLibrary.load(folder, HUNTER_LABELS, 25, sha)


def test_default_library_is_complete_and_made_for_the_shipped_hunter(capsys):
    library = load(DEFAULT_LIBRARY)
    assert {b.purpose for b in library.blocks} == {"camouflage", "ghost-chicken", "panda-decoy"}
    assert all(b.hunter_sha256 == HUNTER_SHA and b.success_rate >= 0.9 for b in library.blocks)
    assert capsys.readouterr().err == ""


def test_default_library_is_what_its_recipes_make():
    def made(recipe):
        options = dict(zip(recipe[::2], recipe[1::2]))
        fractions = options.get("--fractions")
        return options["--purpose"], options["--target"], fractions and [float(v) for v in fractions.split(",")]

    assert [(b.purpose, b.target, b.fractions and list(b.fractions)) for b in load(DEFAULT_LIBRARY).blocks] == \
        [made(recipe) for recipe in DEFAULT_RECIPES]
    assert all(b.method == "eot" for b in load(DEFAULT_LIBRARY).blocks)


def test_recorded_success_rate_is_reproduced_from_the_png(tmp_path):
    from engine.detection.hunter import bgr_to_tensor
    from farm.patches import world_patches
    from realtime.commands.blocks import BLOCK_TEST_SEEDS

    hunter = load_classifier("hunter", device="cpu")
    block = load(DEFAULT_LIBRARY).of_purpose("panda-decoy")[0]
    patches, labels = world_patches(BLOCK_TEST_SEEDS, frames_per_world=6, seed=1)
    terrain = bgr_to_tensor(patches[labels == HUNTER_LABELS.index("terrain")], torch.device("cpu"))
    rate = success_rate(hunter, block.pixels, terrain, HUNTER_LABELS.index("panda"), Placement())
    assert rate == pytest.approx(block.success_rate, abs=1e-4)


def test_save_and_load_round_trip(tmp_path):
    library = load(DEFAULT_LIBRARY)
    library.save(tmp_path / "copy")
    again = load(tmp_path / "copy")
    assert [b.record() for b in again.blocks] == [b.record() for b in library.blocks]
    torch.testing.assert_close(again.blocks[0].pixels, library.blocks[0].pixels)


def test_camouflage_blocks_record_their_success_in_the_pipelines_geometry():
    library = load(DEFAULT_LIBRARY)
    assert all(b.scene_success_rate >= 0.85 for b in library.of_purpose("camouflage"))
    assert all(b.scene_success_rate is None for b in library.blocks if b.purpose != "camouflage")


def test_putting_a_block_again_replaces_it_in_its_place():
    library = load(DEFAULT_LIBRARY)
    files = [b.file for b in library.blocks]
    library.put(library.blocks[0])
    assert [b.file for b in library.blocks] == files


def test_other_weights_give_a_clear_warning(capsys):
    load(DEFAULT_LIBRARY, sha="0" * 64)
    assert "made for other hunter weights" in capsys.readouterr().err


def test_list_shows_each_block_and_the_weights_it_was_made_for(tmp_path, capsys):
    assert main(["blocks", "list"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert rows[0].endswith(f"{len(DEFAULT_RECIPES)} block(s)")
    shown = {row.split()[0]: row for row in rows[2:]}
    assert set(shown) == {b.file for b in load(DEFAULT_LIBRARY).blocks}
    assert "92.6%" in shown["camouflage-terrain-eot-0.9-1.3.png"]
    assert all(row.endswith("the shipped hunter") for row in shown.values())

    stale = broken_copy(tmp_path, lambda folder, entry: entry.update(hunter_sha256="ab" * 32))
    assert main(["blocks", "list", str(stale)]) == 0
    out, err = capsys.readouterr()
    assert "other weights (abababababab...)" in out and "made for other hunter weights" in err


def broken_copy(tmp_path, change):
    load(DEFAULT_LIBRARY).save(tmp_path / "lib")
    manifest = yaml.safe_load((tmp_path / "lib" / MANIFEST).read_text())
    change(tmp_path / "lib", manifest["blocks"][0])
    (tmp_path / "lib" / MANIFEST).write_text(yaml.safe_dump(manifest))
    return tmp_path / "lib"


@pytest.mark.parametrize("change, message", [
    (lambda folder, entry: entry.pop("success_rate"), "block 1: missing field(s) success_rate"),
    (lambda folder, entry: entry.update(target="cow"), "block 1: target: expected one of chicken, pig, panda, "
                                                       "terrain, got 'cow'"),
    (lambda folder, entry: entry.update(purpose="party"), "block 1: purpose: expected one of camouflage, "
                                                          "ghost-chicken, panda-decoy, patch, got 'party'"),
    (lambda folder, entry: entry.update(hunter_sha256=12345), "block 1: hunter_sha256: expected the 64 hex digits "
                                                              "of a SHA-256, got 12345"),
    (lambda folder, entry: entry.update(success_rate="high"), "block 1: success_rate: expected a rate in [0, 1], "
                                                              "got 'high'"),
    (lambda folder, entry: entry.update(clean_probability=1.5), "block 1: clean_probability: expected a "
                                                                "probability in [0, 1], got 1.5"),
    (lambda folder, entry: entry.update(params=[1, 2]), "block 1: params: expected a mapping"),
    (lambda folder, entry: entry.update(scene_success_rate=True), "block 1: scene_success_rate: expected a rate"),
    (lambda folder, entry: entry["params"].update(scene_fractions=[1.3, 0.9]),
     "block 1: params: expected a mapping of the method's parameters (scene_fractions"),
    (lambda folder, entry: entry["params"].update(scene_fractions="big"), "block 1: params: expected"),
    (lambda folder, entry: entry["params"].update(border=-1), "border: a whole number of pixels"),
    (lambda folder, entry: (folder / entry["file"]).write_bytes(b"not a png"), "not a readable PNG"),
])
def test_bad_manifests_are_refused_by_file_block_and_field(tmp_path, change, message):
    with pytest.raises(SaviourError, match=re.escape(message)):
        load(broken_copy(tmp_path, change))


@pytest.mark.parametrize("name", ["../outside.png", "/etc/passwd", "../../../../etc/passwd", "sub/block.png",
                                  "..", "block.txt", 7])
def test_a_block_file_outside_the_library_is_refused_before_it_is_opened(tmp_path, name, monkeypatch):
    import cv2

    library = broken_copy(tmp_path, lambda folder, entry: entry.update(file=name))
    (tmp_path / "outside.png").write_bytes((library / "camouflage-terrain-eot-0.9-1.3.png").read_bytes())
    opened = []
    monkeypatch.setattr(cv2, "imdecode", lambda *args: opened.append(args))
    with pytest.raises(SaviourError, match=re.escape("block 1: file: expected a plain .png file name inside")):
        load(library)
    assert opened == []


def test_wrong_block_size_is_refused(tmp_path):
    import cv2
    import numpy as np

    def shrink(folder, entry):
        cv2.imwrite(str(folder / entry["file"]), np.zeros((20, 20, 3), np.uint8))
    with pytest.raises(SaviourError, match="block is 20x20, expected 25x25"):
        load(broken_copy(tmp_path, shrink))


def test_folder_without_manifest(tmp_path):
    (tmp_path / "stray.txt").write_text("x")
    with pytest.raises(SaviourError, match="no manifest.yaml"):
        load(tmp_path)


@pytest.mark.parametrize("argv, message", [
    (["--purpose", "camouflage", "--target", "cow"], "unknown target class 'cow'"),
    (["--purpose", "camouflage", "--target", "chicken"], "another class than chicken"),
    (["--method", "sweep", "--eps", "0.5"], "--eps must be in [-1, 0)"),
    (["--method", "sweep", "--eps=-3"], "--eps must be in [-1, 0)"),
])
def test_generate_bad_input_exits_2_and_writes_nothing(tmp_path, capsys, argv, message):
    out = tmp_path / "lib"
    assert main(["blocks", "generate", "--out", str(out), "--device", "cpu", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not out.exists()


def test_generate_refuses_a_folder_that_is_not_a_library(tmp_path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["blocks", "generate", "--out", str(tmp_path), "--method", "sweep", "--steps", "4"]) == 2
    assert "not a block library" in capsys.readouterr().err


def test_generate_sweep_adds_a_block_and_its_plot(tmp_path, capsys):
    out = tmp_path / "lib"
    code = main(["blocks", "generate", "--purpose", "panda-decoy", "--method", "sweep", "--eps=-64/255",
                 "--steps", "16", "--out", str(out), "--device", "cpu"])
    assert code == 0
    block = load(out).blocks[0]
    assert (block.purpose, block.target, block.method) == ("panda-decoy", "panda", "sweep")
    assert block.params["eps_lower"] == pytest.approx(-64 / 255)
    assert (out / "sweep-panda-decoy-panda.png").exists()


def test_a_library_for_your_own_hunter_is_made_listed_and_used_with_its_weights(tmp_path, capsys, random_hunter):
    from engine.models import save_checkpoint

    weights, out = tmp_path / "mine.pt", tmp_path / "lib"
    digest = save_checkpoint(random_hunter, "hunter", weights)
    for purpose in ("camouflage", "ghost-chicken"):
        assert main(["blocks", "generate", "--weights", str(weights), "--purpose", purpose, "--method", "sweep",
                     "--steps", "4", "--out", str(out), "--device", "cpu"]) == 0
    assert {b.hunter_sha256 for b in load(out, sha=digest).blocks} == {digest}
    capsys.readouterr()
    assert main(["blocks", "list", str(out), "--weights", str(weights)]) == 0
    listed = capsys.readouterr()
    assert listed.out.count(f"  {weights}\n") == 2 and listed.err == ""
    assert main(["live", "--weights", str(weights), "--library", str(out), "--no-window", "--max-frames", "2",
                 "--device", "cpu"]) == 0
    assert "made for other hunter weights" not in capsys.readouterr().err


def test_a_library_without_the_pipelines_blocks_says_how_to_make_them(tmp_path):
    from engine.detection.hunter import HunterDetector
    from realtime.pipeline.defended import pipeline_for

    library = load(DEFAULT_LIBRARY)
    library.blocks = library.of_purpose("camouflage")
    with pytest.raises(SaviourError, match="saviour blocks generate --purpose ghost-chicken --out LIBRARY"):
        pipeline_for(HunterDetector(load_classifier("hunter", device="cpu")), library, "camouflage")
