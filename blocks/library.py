"""The block library on disk: a folder of PNG blocks and a `manifest.yaml` describing each.

Per block the manifest records its purpose, target class, method and parameters, the SHA-256 of the
hunter weights it was made for, its clean target probability and its measured success rate under
random placements (for camouflage blocks also on chickens covered as the pipeline covers them).
Loading checks all of it and warns when the blocks were made for other weights.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import cv2
import torch
import yaml

from blocks.choices import PURPOSES
from blocks.paste import block_bgr
from engine.errors import SaviourError, warn
from engine.files import read_yaml, write_atomically

MANIFEST = "manifest.yaml"
# (purpose, target) of each shipped block, each made by `saviour blocks generate --method eot` with
# the command's other defaults
DEFAULT_RECIPES = (("camouflage", "terrain"), ("camouflage", "pig"), ("ghost-chicken", "chicken"),
                   ("panda-decoy", "panda"))
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

    def record(self) -> dict:
        entry = asdict(self)
        entry.pop("pixels")
        if entry["scene_success_rate"] is None:
            entry.pop("scene_success_rate")
        return entry


class BlockLibrary:
    """Blocks made for one hunter, loaded from or saved to a folder."""

    def __init__(self, blocks: list[Block]):
        self.blocks = list(blocks)

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
        manifest = {"blocks": [b.record() for b in self.blocks]}
        write_atomically(folder / MANIFEST, yaml.safe_dump(manifest, sort_keys=False).encode())
        return folder

    @classmethod
    def load(cls, folder: str | Path, labels, size: int, hunter_sha256: str | None = None) -> "BlockLibrary":
        """Read and check a library; raise SaviourError naming the file and field at fault."""
        folder = Path(folder)
        manifest_path = folder / MANIFEST
        if not manifest_path.is_file():
            raise SaviourError(f"{folder}: not a block library (no {MANIFEST})")
        manifest = read_yaml(manifest_path)
        entries = manifest.get("blocks") if isinstance(manifest, dict) else None
        if not isinstance(entries, list):
            raise SaviourError(f"{manifest_path}: expected a 'blocks' list")
        blocks = [_read_block(folder, manifest_path, i, entry, labels, size) for i, entry in enumerate(entries)]
        stale = sorted({b.hunter_sha256[:12] for b in blocks if hunter_sha256 and b.hunter_sha256 != hunter_sha256})
        if stale:
            warn(f"{folder} was made for other hunter weights (sha256 {', '.join(stale)}...); "
                 f"its blocks may not fool this hunter")
        return cls(blocks)


def _read_block(folder: Path, manifest_path: Path, index: int, entry, labels, size: int) -> Block:
    where = f"{manifest_path}: block {index + 1}"
    if not isinstance(entry, dict):
        raise SaviourError(f"{where}: expected a mapping of {', '.join(FIELDS)}")
    missing = [name for name in FIELDS if name not in entry]
    if missing:
        raise SaviourError(f"{where}: missing field(s) {', '.join(missing)}")
    if entry["purpose"] not in PURPOSES:
        raise SaviourError(f"{where}: unknown purpose {entry['purpose']!r} (known: {', '.join(PURPOSES)})")
    if entry["target"] not in labels:
        raise SaviourError(f"{where}: unknown target class {entry['target']!r} (known: {', '.join(labels)})")
    image = cv2.imread(str(folder / str(entry["file"])), cv2.IMREAD_COLOR)
    if image is None:
        raise SaviourError(f"{folder / str(entry['file'])}: missing or not a readable PNG")
    if image.shape[:2] != (size, size):
        raise SaviourError(f"{folder / entry['file']}: block is {image.shape[1]}x{image.shape[0]}, expected {size}x{size}")
    pixels = torch.from_numpy(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).permute(2, 0, 1).float() / 255
    values = {name: entry[name] for name in FIELDS}
    return Block(**values, pixels=pixels, scene_success_rate=entry.get("scene_success_rate"))
