"""Defences: objects with one method, `apply(frame, protected) -> decoy boxes`, which edits the frame
(a copy the pipeline owns) around the protected animals' boxes and returns the boxes of any decoys it
placed. A pipeline applies a list of them in turn; a mode of the command line names such a list.
"""

from __future__ import annotations

import numpy as np

from blocks.library import BlockLibrary
from blocks.onthefly import fgsm_chickens
from blocks.paste import block_bgr, cover_boxes, paste_at, shuffled
from blocks.sweep import GREY
from engine.errors import SaviourError
from realtime.choices import DEFAULT_FRACTION, MODES

DECOY_MIN_SIDE, DECOY_MAX_SIDE = 0.12, 0.45   # automatic decoy side, as fractions of the frame height
DECOY_GROWTH = 1.6                              # automatic decoy side over the largest chicken's
NO_BOXES = np.zeros((0, 4))


class Cover:
    """A square block (or cube) centred on each protected box, its side `fraction` of the box's larger
    side: the camouflage block, its shuffled control, or a plain grey square (occlusion alone)."""

    def __init__(self, block: np.ndarray, fraction: float = DEFAULT_FRACTION, cube: bool = False):
        if not 0 < fraction <= 2:
            raise SaviourError(f"block fraction must be in (0, 2], got {fraction}")
        self.block, self.fraction, self.cube = block, fraction, cube

    def apply(self, frame: np.ndarray, protected: np.ndarray) -> np.ndarray:
        cover_boxes(frame, self.block, protected, self.fraction, self.cube)
        return NO_BOXES

    def footprints(self, protected: np.ndarray) -> np.ndarray:
        """The squares `apply` covers, one per protected box (N x 4, frame pixels)."""
        centres = (protected[:, :2] + protected[:, 2:]) / 2
        half = self.fraction * np.max(protected[:, 2:] - protected[:, :2], axis=1, initial=0)[:, None] / 2
        return np.concatenate([centres - half, centres + half], 1)


class Decoys:
    """Ghost-chicken blocks on empty ground, where the hunter should aim instead.

    `boxes` (N x 4, frame pixels) places them; None places two on the lower half of the frame, each
    larger than the largest protected animal in view (see `boxes_for`).
    """

    def __init__(self, ghost: np.ndarray, boxes: np.ndarray | None = None, cube: bool = False):
        self.ghost, self.boxes, self.cube = ghost, boxes, cube

    def boxes_for(self, shape, protected: np.ndarray | None = None) -> np.ndarray:
        """The decoys' boxes: the configured ones, or two squares on the lower half of the frame.

        A hunter that sees several sure chickens shoots the nearest, the largest in view, so automatic
        decoys are made DECOY_GROWTH times the largest detected chicken's side (at least
        DECOY_MIN_SIDE of the frame height, at most the detector's largest animal size).
        """
        if self.boxes is not None:
            return np.asarray(self.boxes, float).reshape(-1, 4)
        h, w = shape[:2]
        largest = 0.0 if protected is None or not len(protected) else (protected[:, 2:] - protected[:, :2]).max()
        side = min(max(DECOY_MIN_SIDE * h, DECOY_GROWTH * largest), DECOY_MAX_SIDE * h)
        centres = np.array([[0.25 * w, 0.72 * h], [0.75 * w, 0.62 * h]])
        return np.concatenate([centres - side / 2, centres + side / 2], 1)

    def apply(self, frame: np.ndarray, protected: np.ndarray) -> np.ndarray:
        boxes = self.boxes_for(frame.shape, protected)
        if len(boxes):
            paste_at(frame, self.ghost, (boxes[:, :2] + boxes[:, 2:]) / 2, boxes[:, 2] - boxes[:, 0], self.cube)
        return boxes


class OnTheFlyFgsm:
    """One FGSM step toward `target` on each protected animal's region, through the detector's own
    view of the frame (blocks.onthefly). It needs a dense detector: one whose classifier scores every
    window at once (`dense_logits`) over a pyramid it describes (`scales_for`)."""

    def __init__(self, detector, eps: float = 32 / 255, target: str = "terrain", protect: str = "chicken"):
        if not 0 < eps <= 1:
            raise SaviourError(f"the on-the-fly FGSM budget must be in (0, 1], got {eps}")
        classifier = getattr(detector, "classifier", None)
        dense = hasattr(classifier, "dense_logits") and all(hasattr(detector, a) for a in ("scales_for", "grid"))
        if not dense:
            raise SaviourError(f"on-the-fly FGSM needs a dense detector such as the hunter's; "
                               f"{type(detector).__name__} has no dense logits over a pyramid")
        for name in (target, protect):
            if name not in classifier.labels:
                raise SaviourError(f"on-the-fly FGSM needs the class {name!r}, which the classifier lacks "
                                   f"(it has {', '.join(classifier.labels)})")
        self.detector, self.eps, self.target, self.protect = detector, eps, target, protect

    def apply(self, frame: np.ndarray, protected: np.ndarray) -> np.ndarray:
        fgsm_chickens(self.detector, frame, protected, self.eps, self.target, self.protect)
        return NO_BOXES


def defences_for(mode: str, library: BlockLibrary, detector=None, fraction: float = DEFAULT_FRACTION,
                 fgsm_eps: float = 32 / 255, cube: bool = False, decoys: np.ndarray | None = None,
                 camouflage_target: str = "terrain") -> list:
    """The defences a mode of the command line names, made from the library's blocks; SaviourError
    naming the blocks a mode needs and the library lacks."""
    if mode not in MODES:
        raise SaviourError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
    camouflage, ghost = _blocks(library, camouflage_target)
    covers = {"camouflage": camouflage, "control": shuffled(camouflage),
              "occlusion": np.full_like(camouflage, round(GREY * 255))}
    chosen = []
    cover = mode.split("+")[0]
    if cover in covers:
        chosen.append(Cover(covers[cover], fraction, cube))
    elif mode == "fgsm":
        chosen.append(OnTheFlyFgsm(detector, fgsm_eps))
    if "decoys" in mode.split("+"):
        chosen.append(Decoys(ghost, decoys, cube))
    return chosen


def _blocks(library: BlockLibrary, camouflage_target: str) -> tuple[np.ndarray, np.ndarray]:
    """The library's camouflage block for `camouflage_target` and its ghost-chicken block, as BGR."""
    camouflage = [b for b in library.of_purpose("camouflage") if b.target == camouflage_target]
    ghosts = library.of_purpose("ghost-chicken")
    missing = ([(f"camouflage block for {camouflage_target}", f"camouflage --target {camouflage_target}")]
               if not camouflage else []) + ([("ghost-chicken block", "ghost-chicken")] if not ghosts else [])
    if missing:
        raise SaviourError(f"the block library has no {' and no '.join(what for what, _ in missing)}; "
                           f"add {'it' if len(missing) == 1 else 'them'} with "
                           + " and ".join(f"`saviour blocks generate --purpose {how} --out LIBRARY`"
                                          for _, how in missing))
    return block_bgr(camouflage[0].pixels), block_bgr(ghosts[0].pixels)
