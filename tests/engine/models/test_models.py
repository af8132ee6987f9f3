import pytest
import torch
import torchvision

from engine.errors import SaviourError
from engine.models import HUNTER_LABELS, Hunter, file_sha256, load_classifier, save_checkpoint, shipped_weights


def test_shipped_hunter_loads_with_labels_and_input_size():
    hunter = load_classifier("hunter", device="cpu")
    assert hunter.labels == HUNTER_LABELS and hunter.input_size == 25
    assert not hunter.training
    assert hunter(torch.rand(2, 3, 25, 25)).shape == (2, 4)


def test_shipped_weights_are_small_and_match_their_recorded_hash():
    path = shipped_weights("hunter")
    assert path.stat().st_size < 50_000
    recorded = path.with_name(path.name + ".sha256").read_text().split()[0]
    assert file_sha256(path) == recorded


def test_architecture_matches_the_notebook():
    shapes = [tuple(p.shape) for p in Hunter().parameters()]
    assert shapes == [(7, 3, 5, 5), (7,), (10, 7, 5, 5), (10,), (10, 10), (10,), (8, 10), (8,), (4, 8), (4,)]


def test_user_checkpoint_round_trip(tmp_path, random_hunter):
    path = tmp_path / "mine.pt"
    save_checkpoint(random_hunter, "hunter", path)
    loaded = load_classifier(path, device="cpu")
    x = torch.rand(3, 3, 25, 25)
    torch.testing.assert_close(loaded(x), random_hunter(x))
    assert (tmp_path / "mine.pt.sha256").read_text().startswith(file_sha256(path))


def test_a_wider_hunter_loads_as_wide_as_it_was_saved(tmp_path):
    torch.manual_seed(0)
    wide = Hunter(filters=8).eval()
    save_checkpoint(wide, "hunter", tmp_path / "wide.pt")
    loaded = load_classifier(tmp_path / "wide.pt", device="cpu")
    assert loaded.features[0].out_channels == 8
    x = torch.rand(3, 3, 25, 25)
    torch.testing.assert_close(loaded(x), wide(x))


def test_the_same_weights_hash_the_same_under_any_file_name(tmp_path, random_hunter):
    # so `train-hunter --out` anywhere reproduces the shipped file's SHA, which block manifests record
    assert save_checkpoint(random_hunter, "hunter", tmp_path / "a.pt") == \
        save_checkpoint(random_hunter, "hunter", tmp_path / "other_name.pt")


def test_bare_state_dict_is_accepted(tmp_path, random_hunter):
    torch.save(random_hunter.state_dict(), tmp_path / "bare.pt")
    assert load_classifier(tmp_path / "bare.pt", device="cpu").labels == HUNTER_LABELS


@pytest.mark.parametrize("content, message", [
    (None, "no such weights file"),
    (b"not a checkpoint at all", r"not a PyTorch checkpoint \(neither the zip archive torch.save writes nor a"),
    (b"\x80" + bytes(range(1, 200)), r"not a readable PyTorch checkpoint \(its data is damaged or cut off\)$"),
    ("truncated", r"not a readable PyTorch checkpoint \(its data is damaged or cut off\)$"),
    ("resnet", r"do not fit the hunter architecture \(10 missing and 122 unexpected tensors"),
    ("pickled module", "pickled Python objects, which are not loaded for safety; save model.state_dict()"),
    ("five classes", r"head.4.weight is \(5, 8\) in the file, \(4, 8\) in the model"),
])
def test_bad_weights_give_one_clear_error(tmp_path, random_hunter, content, message):
    path = tmp_path / "weights.pt"
    if content == "truncated":
        save_checkpoint(random_hunter, "hunter", path)
        path.write_bytes(path.read_bytes()[:200])
    elif content == "resnet":
        torch.save(torchvision.models.resnet18().state_dict(), path)
    elif content == "pickled module":
        torch.save(random_hunter, path)
    elif content == "five classes":
        state = random_hunter.state_dict()
        state["head.4.weight"], state["head.4.bias"] = torch.zeros(5, 8), torch.zeros(5)
        torch.save(state, path)
    elif content is not None:
        path.write_bytes(content)
    with pytest.raises(SaviourError, match=message) as error:
        load_classifier(path, device="cpu")
    assert str(path) in str(error.value) and "\n" not in str(error.value)
