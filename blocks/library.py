"""The block library on disk: a folder of PNG blocks and a `manifest.yaml` describing each.

Per block the manifest records its purpose, target class, method and parameters, the SHA-256 of the
hunter weights it was made for, its clean target probability and its measured success rate under
random placements (for camouflage blocks also on chickens covered as the pipeline covers them).
Loading checks all of it and warns when the blocks were made for other weights.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import numpy as np
import torch
import yaml

from blocks.choices import HUNTER, PATCH, PATCH_MAX_SIDE, PURPOSES
from blocks.paste import block_bgr
from engine.errors import SaviourError, warn
from engine.files import read_yaml, write_atomically

MANIFEST = "manifest.yaml"
# the arguments of `saviour blocks generate` that made each shipped block (the others at their defaults)
DEFAULT_RECIPES = (("--purpose", "camouflage", "--target", "terrain", "--fractions", "0.9,1.3", "--border", "3"),
                   ("--purpose", "camouflage", "--target", "terrain", "--fractions", "0.5,0.9"),
                   ("--purpose", "camouflage", "--target", "pig", "--fractions", "0.9,1.3"),
                   ("--purpose", "ghost-chicken", "--target", "chicken"),
                   ("--purpose", "panda-decoy", "--target", "panda"))
FIELDS = ("file", "purpose", "target", "method", "params", "hunter_sha256", "clean_probability", "success_rate")


@dataclass
class Block:
    """One block: its pixels (3 x S x S RGB in [0, 1]) and what the manifest says of it."""

    file: str
    purpose: str
    target: str
    method: str
    params: dict
    hunter_sha256: str
    clean_probability: float
    success_rate: float
    pixels: torch.Tensor = field(repr=False)
    # camouflage: share of held-out chickens, covered as the pipeline covers them, no longer seen as chickens
    scene_success_rate: float | None = None
    model: str = HUNTER                          # the classifier it was made for (patches: an ImageNet one)
    success_by_area: dict | None = None          # patches: share of the image -> success on held-out images

    @property
    def fractions(self) -> tuple[float, float] | None:
        """Camouflage: the range of block sides, as fractions of the chicken's box, it was optimised
        for (None when not recorded: made for any)."""
        value = self.params.get("scene_fractions")
        return (float(value[0]), float(value[1])) if value is not None else None

    @property
    def border(self) -> int:
        """Pixels along each edge kept plain grey when it was made (0: none)."""
        return self.params.get("border", 0)

    def record(self) -> dict:
        entry = asdict(self)
        entry.pop("pixels")
        for name, unset in (("scene_success_rate", None), ("model", HUNTER), ("success_by_area", None)):
            if entry[name] == unset:
                entry.pop(name)
        return entry


def plain_params(value):
    """Tuples to lists, so the manifest stays plain YAML that safe_load reads back."""
    if isinstance(value, dict):
        return {k: plain_params(v) for k, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [plain_params(v) for v in value]
    return value


class BlockLibrary:
    """Blocks made for one hunter, loaded from or saved to a folder. `sha256` digests the manifest and
    the block files as loaded (None for a library made in memory): outputs record it to say which
    blocks made them."""

    def __init__(self, blocks: list[Block], sha256: str | None = None, others: list[dict] = ()):
        self.blocks, self.sha256 = list(blocks), sha256
        self.others = list(others)    # the manifest's entries for other models, kept as read when saving

    def __len__(self) -> int:
        return len(self.blocks)

    def put(self, block: Block) -> None:
        """Add a block, or replace the one of the same file in its place (the manifest keeps its order)."""
        files = [b.file for b in self.blocks]
        if block.file in files:
            self.blocks[files.index(block.file)] = block
        else:
            self.blocks.append(block)

    def of_purpose(self, purpose: str) -> list[Block]:
        return [b for b in self.blocks if b.purpose == purpose]

    def save(self, folder: str | Path) -> Path:
        """Write every block's PNG, then the manifest; each file under a temporary name first, so an
        interrupted save leaves the previous manifest and the blocks it names intact."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        for block in self.blocks:
            write_atomically(folder / block.file, cv2.imencode(".png", block_bgr(block.pixels))[1].tobytes())
        entries = [b.record() for b in self.blocks] + self.others
        manifest = {"blocks": sorted(entries, key=lambda entry: entry.get("purpose") == PATCH)}   # the hunter's first
        write_atomically(folder / MANIFEST, yaml.safe_dump(manifest, sort_keys=False).encode())
        return folder

    @classmethod
    def load(cls, folder: str | Path, labels, size: int, hunter_sha256: str | None = None,
             model: str = HUNTER) -> BlockLibrary:
        """Read and check a library for `model`: the hunter's blocks (`size` pixels a side) for the
        hunter, the patches for an ImageNet model (a patch made for another model loads with a
        warning); raise SaviourError naming the file and field at fault."""
        folder = Path(folder)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise SaviourError(f"{folder}: not a block library (no {MANIFEST})")
        manifest = read_yaml(manifest_path)
        entries = manifest.get("blocks") if isinstance(manifest, dict) else None
        if not isinstance(entries, list):
            raise SaviourError(f"{manifest_path}: expected a 'blocks' list")
        digest = hashlib.sha256(manifest_path.read_bytes())
        blocks, others = [], []
        for i, entry in enumerate(entries):
            where = f"{manifest_path}: block {i + 1}"
            if isinstance(entry, dict) and (entry.get("purpose") == PATCH) != (model != HUNTER):
                others.append(entry)   # a patch, for the hunter, or a hunter's block, for an ImageNet model
                continue
            _check_fields(where, entry, labels)
            png = _block_file(folder, entry["file"]).read_bytes()
            digest.update(png)
            pixels = _pixels(folder / entry["file"], png, None if entry["purpose"] == PATCH else size)
            blocks.append(Block(**{name: entry[name] for name in FIELDS}, pixels=pixels,
                                scene_success_rate=entry.get("scene_success_rate"),
                                model=entry.get("model", HUNTER), success_by_area=entry.get("success_by_area")))
        foreign = sorted({b.model for b in blocks if b.model != model})
        if foreign:
            warn(f"{folder} holds patches made for {', '.join(foreign)}, not {model}; they may not fool it")
        stale = sorted({b.hunter_sha256[:12] for b in blocks
                        if hunter_sha256 and b.model == model and b.hunter_sha256 != hunter_sha256})
        if stale:
            warn(f"{folder} was made for other hunter weights (sha256 {', '.join(stale)}...); "
                 f"its blocks may not fool this hunter")
        return cls(blocks, digest.hexdigest(), others)


def _is_rate(value) -> bool:
    return _is_number(value) and 0 <= value <= 1


# each field's check and what the message says was expected
_EXPECTED = {
    "file": (lambda v: _plain_png_name(v), "a plain .png file name inside the library folder"),
    "purpose": (lambda v: v in PURPOSES or v == PATCH, f"one of {', '.join(PURPOSES)}, {PATCH}"),
    "method": (lambda v: isinstance(v, str) and v != "", "the method's name"),
    "params": (lambda v: isinstance(v, dict) and _fraction_range(v.get("scene_fractions", [0, 2]))
               and _pixels_count(v.get("border", 0)),
               "a mapping of the method's parameters (scene_fractions, if given: [low, high] in (0, 2]; "
               "border: a whole number of pixels, 0 to 8)"),
    "hunter_sha256": (lambda v: isinstance(v, str) and re.fullmatch(r"[0-9a-f]{64}", v) is not None,
                      "the 64 hex digits of a SHA-256"),
    "clean_probability": (_is_rate, "a probability in [0, 1]"),
    "success_rate": (_is_rate, "a rate in [0, 1]"),
    "scene_success_rate": (lambda v: v is None or _is_rate(v), "a rate in [0, 1], or no value"),
    "model": (lambda v: v is None or (isinstance(v, str) and v != ""), "the name of the model it was made for"),
    "success_by_area": (lambda v: v is None or (isinstance(v, dict) and all(
        _is_number(k) and 0 < k < 1 and _is_rate(r) for k, r in v.items())),
        "a mapping of image shares in (0, 1) to rates in [0, 1], or no value"),
}


def _fraction_range(value) -> bool:
    return (isinstance(value, list) and len(value) == 2 and all(_is_number(v) for v in value)
            and 0 <= value[0] <= value[1] <= 2)


def _pixels_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 8


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_fields(where: str, entry, labels) -> None:
    """Every field of a manifest entry present and of its kind; SaviourError naming the first that is not."""
    if not isinstance(entry, dict):
        raise SaviourError(f"{where}: expected a mapping of {', '.join(FIELDS)}")
    missing = [name for name in FIELDS if name not in entry]
    if missing:
        raise SaviourError(f"{where}: missing field(s) {', '.join(missing)}")
    if entry["target"] not in labels:
        raise SaviourError(f"{where}: target: expected one of {', '.join(labels)}, got {entry['target']!r}")
    for name, (valid, expected) in _EXPECTED.items():
        if not valid(entry.get(name)):
            raise SaviourError(f"{where}: {name}: expected {expected}, got {entry.get(name)!r}")


def _plain_png_name(name) -> bool:
    """A block's file is named by a plain PNG name: anything that could reach outside the library
    folder (a path, `..`, an absolute name) is refused before any file is opened."""
    return (isinstance(name, str) and Path(name).name == name and "\\" not in name
            and name.lower().endswith(".png"))


def _block_file(folder: Path, name: str) -> Path:
    path = folder / name
    if not path.is_file():
        raise SaviourError(f"{path}: missing block file")
    return path


def _pixels(path: Path, png: bytes, size: int | None) -> torch.Tensor:
    """A block's pixels, `size` a side (None: a patch, any square up to PATCH_MAX_SIDE)."""
    image = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SaviourError(f"{path}: not a readable PNG")
    height, width = image.shape[:2]
    if size is None and (height != width or height > PATCH_MAX_SIDE):
        raise SaviourError(f"{path}: patch is {width}x{height}, expected a square of at most {PATCH_MAX_SIDE} pixels")
    if size is not None and (height, width) != (size, size):
        raise SaviourError(f"{path}: block is {width}x{height}, expected {size}x{size}")
    return torch.from_numpy(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).float() / 255
