"""Defences: objects with one method, `apply(frame, protected) -> decoy boxes`, which edits the frame
(a copy the pipeline owns) around the protected animals' boxes and returns the boxes of any decoys it
placed. A pipeline applies a list of them in turn; a mode of the command line names such a list.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np

from blocks.choices import PATCH
from blocks.library import Block, BlockLibrary
from blocks.onthefly import attack_chickens, clipped_regions, perturbed_regions
from blocks.paste import block_bgr, cover_boxes, paste_at, shuffled
from blocks.sweep import GREY
from engine.errors import SaviourError
from realtime.choices import ATTACK_EPS, ATTACK_STEPS, DEFAULT_FRACTION, MODES, PATCH_MODES

DECOY_MIN_SIDE, DECOY_MAX_SIDE = 0.12, 0.45   # automatic decoy side, as fractions of the frame height
DECOY_GROWTH = 1.6                              # automatic decoy side over the largest chicken's
NO_BOXES = np.zeros((0, 4))


class Cover:
    """A square block (or cube) centred on each protected box, its side `fraction` of the box's larger
    side: the camouflage block, its shuffled control, a plain grey square (occlusion alone), or an
    ImageNet model's adversarial patch (`smooth`: resized by area, as it was trained, not blocky)."""

    def __init__(self, block: np.ndarray, fraction: float = DEFAULT_FRACTION, cube: bool = False,
                 smooth: bool = False):
        if not 0 < fraction <= 2:
            raise SaviourError(f"block fraction must be in (0, 2], got {fraction}")
        self.block, self.fraction, self.cube = block, fraction, cube
        self.interpolation = cv2.INTER_AREA if smooth else cv2.INTER_NEAREST

    def apply(self, frame: np.ndarray, protected: np.ndarray) -> np.ndarray:
        cover_boxes(frame, self.block, protected, self.fraction, self.cube, self.interpolation)
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


class OnTheFlyAttack:
    """Signed-gradient steps away from the protected class on each protected animal's region, through
    the detector's own view of the frame (blocks.onthefly): `steps` of them within `eps`, each
    animal's perturbation carried to the next frame with `warm_start` (PGD), or one step of the whole
    budget from scratch (the notebook's FGSM). It needs a dense detector: one whose classifier scores
    every window at once (`dense_logits`) over a pyramid it describes (`scales_for`)."""

    def __init__(self, detector, eps: float = ATTACK_EPS["pgd"], steps: int = ATTACK_STEPS["pgd"],
                 warm_start: bool = True, protect: str = "chicken"):
        _check_budget(eps)
        if steps < 1:
            raise SaviourError(f"the on-the-fly attack needs at least 1 step, got {steps}")
        classifier = getattr(detector, "classifier", None)
        dense = hasattr(classifier, "dense_logits") and all(hasattr(detector, a) for a in ("scales_for", "grid"))
        if not dense:
            raise SaviourError(f"the on-the-fly attack needs a dense detector such as the hunter's; "
                               f"{type(detector).__name__} has no dense logits over a pyramid")
        if protect not in classifier.labels:
            raise SaviourError(f"the on-the-fly attack protects {protect!r}, a class the classifier lacks "
                               f"(it has {', '.join(classifier.labels)})")
        self.detector, self.eps, self.steps, self.warm_start, self.protect = detector, eps, steps, warm_start, protect
        self._previous: list = []
        self._lock = threading.Lock()   # frames may be defended on several worker threads

    @property
    def carries_state(self) -> bool:
        return self.warm_start

    def apply(self, frame: np.ndarray, protected: np.ndarray) -> np.ndarray:
        with self._lock:
            previous = self._previous
        done = attack_chickens(self.detector, frame, protected, self.eps, self.steps, previous=previous,
                               protect=self.protect)
        if self.warm_start:
            with self._lock:
                self._previous = done
        return NO_BOXES

    def footprints(self, protected: np.ndarray) -> np.ndarray:
        """The regions `apply` perturbs, one per protected box (N x 4, frame pixels)."""
        return perturbed_regions(protected)


class SignNoise:
    """The on-the-fly attack's control: each protected region's pixels moved by +-`eps` at random."""

    carries_state = True    # one random stream over the frames

    def __init__(self, eps: float = ATTACK_EPS["noise"], seed: int = 0):
        _check_budget(eps)
        self.eps, self._rng = eps, np.random.default_rng(seed)

    def apply(self, frame: np.ndarray, protected: np.ndarray) -> np.ndarray:
        for x0, y0, x1, y1 in clipped_regions(protected, frame.shape):
            region = frame[y0:y1, x0:x1].astype(np.int16)
            signs = self._rng.choice(np.array([-1, 1], np.int16), region.shape)
            frame[y0:y1, x0:x1] = np.clip(region + signs * round(self.eps * 255), 0, 255).astype(np.uint8)
        return NO_BOXES

    def footprints(self, protected: np.ndarray) -> np.ndarray:
        return perturbed_regions(protected)


def _check_budget(eps: float) -> None:
    if not 0 < eps <= 1:
        raise SaviourError(f"the on-the-fly budget must be in (0, 1], e.g. 16/255, got {eps}")


def defences_for(mode: str, library: BlockLibrary, detector=None, fraction: float = DEFAULT_FRACTION,
                 attack_eps: float | None = None, cube: bool = False, decoys: np.ndarray | None = None,
                 camouflage_target: str = "terrain") -> list:
    """The defences a mode of the command line names, made from the library's blocks (the on-the-fly
    modes' budget `attack_eps`, default ATTACK_EPS of the mode); SaviourError naming the blocks a mode
    needs and the library lacks."""
    if mode not in MODES:
        raise SaviourError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
    eps = ATTACK_EPS.get(mode) if attack_eps is None else attack_eps
    if mode in ("fgsm", "pgd"):
        return [OnTheFlyAttack(detector, eps, ATTACK_STEPS[mode], warm_start=mode == "pgd")]
    if mode == "noise":
        return [SignNoise(eps)]
    if mode == "none":
        return []
    if mode == "occlusion":
        return [Cover(np.full((8, 8, 3), round(GREY * 255), np.uint8), fraction, cube)]
    if mode in PATCH_MODES:
        return [Cover(_patch(library, mode), fraction, cube, smooth=True)]
    block, ghost = _blocks(library, camouflage_target, fraction)
    camouflage = block_bgr(block.pixels)
    covers = {"camouflage": camouflage, "control": shuffled(camouflage, border=block.border)}
    chosen = []
    cover = mode.split("+")[0]
    if cover in covers:
        chosen.append(Cover(covers[cover], fraction, cube))
    if "decoys" in mode.split("+"):
        chosen.append(Decoys(ghost, decoys, cube))
    return chosen


def _patch(library: BlockLibrary, mode: str) -> np.ndarray:
    """The library's adversarial patch (BGR), or for `random-patch` random pixels of its size."""
    patches = library.of_purpose(PATCH)
    if not patches:
        raise SaviourError("the block library has no patch for this model; make one with `saviour blocks generate "
                           "--model MODEL --purpose patch --images DIR --out LIBRARY`")
    patch = block_bgr(patches[0].pixels)
    if mode == "random-patch":
        return np.random.default_rng(0).integers(0, 256, patch.shape, dtype=np.uint8)
    return patch


def _blocks(library: BlockLibrary, camouflage_target: str, fraction: float) -> tuple[Block, np.ndarray]:
    """The library's camouflage block for `camouflage_target` made for blocks `fraction` of the box
    (`camouflage_for`), and its ghost-chicken block as BGR."""
    camouflage = [b for b in library.of_purpose("camouflage") if b.target == camouflage_target]
    ghosts = library.of_purpose("ghost-chicken")
    missing = ([(f"camouflage block for {camouflage_target}", f"camouflage --target {camouflage_target}")]
               if not camouflage else []) + ([("ghost-chicken block", "ghost-chicken")] if not ghosts else [])
    if missing:
        raise SaviourError(f"the block library has no {' and no '.join(what for what, _ in missing)}; "
                           f"add {'it' if len(missing) == 1 else 'them'} with "
                           + " and ".join(f"`saviour blocks generate --purpose {how} --out LIBRARY`"
                                          for _, how in missing))
    return camouflage_for(camouflage, fraction), block_bgr(ghosts[0].pixels)


def camouflage_for(blocks: list, fraction: float):
    """Of camouflage blocks, the one made for blocks `fraction` of the chicken's box: the first whose
    range of sides holds it, else the first made for any side, else the one whose range is nearest."""
    def fit(block):
        if block.fractions is None:
            return 1, 0.0
        low, high = block.fractions
        return (0, 0.0) if low <= fraction <= high else (2, min(abs(fraction - low), abs(fraction - high)))
    return min(blocks, key=fit)
