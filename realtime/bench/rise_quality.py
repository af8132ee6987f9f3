"""RISE quality against the model's passes on real photos, and the time our RISE takes to reach the
map the source notebook's pipeline gives.

Quality is the Pearson correlation of a map with a converged reference: the centred estimator over
REFERENCE_MASKS random masks. The notebook's pipeline (`notebook_rise`: NumPy masks made one by one,
the paper's estimator, N = 2000, s = 8, p1 = 0.5) runs the same model, so the same memory layout and
threads; it masks to the model's neutral input as ours does, so both converge to the same map.
Ours is scored at COUNTS passes, as prefixes of one bank of masks: one set of scores gives the curve.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from engine.choices import RISE_ESTIMATORS, RISE_SAMPLERS
from engine.explain import generate_masks, rise
from engine.explain.metrics import pearson
from engine.explain.rise import DEFAULT_BATCH, masked_images, mean_mask, neutral_input, weighted_masks
from engine.explain.targets import ClassProbability
from realtime.bench.explain import notebook_rise

COUNTS = (64, 128, 256, 512, 1024, 2048)
NOTEBOOK_N = 2000
# The reference was 32,000 masks; at 52 passes/s here (EfficientNet-Lite0) that is 10 minutes a
# photo. Its noise scales every quality by one factor (see reference_map), so fewer masks change no
# comparison; the rows print the factor.
REFERENCE_MASKS = 4000
S, P1 = 8, 0.5


@dataclass
class QualityCurves:
    """Mean quality over the images at each of COUNTS passes, per (estimator, sampler); the notebook's."""

    ours: dict = field(default_factory=dict)        # (estimator, sampler) -> list of per-image lists
    notebook: list = field(default_factory=list)    # quality per image
    notebook_seconds: list = field(default_factory=list)
    reference: list = field(default_factory=list)   # each reference's estimated correlation with the true map

    def mean(self, key) -> np.ndarray:
        return np.mean(self.ours[key], axis=0)

    def passes_to_match(self, key) -> int | None:
        """The fewest passes on the curve whose mean quality reaches the notebook's, or None."""
        reached = np.flatnonzero(self.mean(key) >= np.mean(self.notebook))
        return COUNTS[reached[0]] if len(reached) else None


@torch.no_grad()
def scores(model, image: torch.Tensor, masks: torch.Tensor, target: int) -> torch.Tensor:
    """The target's probability on each masked image (N)."""
    score, baseline = ClassProbability(target), neutral_input(model)
    return torch.cat([score(model(masked_images(image, masks[i:i + DEFAULT_BATCH], baseline))).float()
                      for i in range(0, len(masks), DEFAULT_BATCH)])


def prefix_map(probabilities: torch.Tensor, masks: torch.Tensor, count: int, estimator: str) -> torch.Tensor:
    """The map of the first `count` masks by `estimator` (H x W)."""
    return weighted_masks(probabilities[:count, None], masks[:count], P1, mean_mask(masks[:count], estimator))[0]


@torch.no_grad()
def reference_map(model, image: torch.Tensor, target: int, n: int, seed: int,
                  chunk: int = 1024) -> tuple[torch.Tensor, float]:
    """The centred map over `n` random masks, made `chunk` at a time so that memory stays small, and
    its estimated correlation with the map of infinitely many masks: from the agreement r of its two
    halves, sqrt(2r / (1 + r)) (Spearman-Brown). Every quality is that factor times the quality
    against the true map, so comparisons between maps do not depend on it."""
    generator, halves = torch.Generator().manual_seed(seed), []
    for size in (n // 2, n - n // 2):
        weighted, total_score, total_mask = 0.0, 0.0, 0.0
        for start in range(0, size, chunk):
            masks = generate_masks(min(chunk, size - start), S, P1, tuple(image.shape[-2:]), generator=generator)
            probabilities = scores(model, image, masks, target)
            weighted = weighted + probabilities @ masks.flatten(1)
            total_score, total_mask = total_score + probabilities.sum(), total_mask + masks.flatten(1).sum(0)
        halves.append((weighted, total_score, total_mask, size))
    centred = [(w - t * m / k).view(image.shape[-2:]) / (k * P1) for w, t, m, k in halves]
    agreement = max(pearson(*centred), 0.0)
    weighted, total_score, total_mask = (halves[0][i] + halves[1][i] for i in range(3))
    full = ((weighted - total_score * total_mask / n) / (n * P1)).view(image.shape[-2:])
    return full, (2 * agreement / (1 + agreement)) ** 0.5


def measure_curves(model, images: torch.Tensor, targets: list[int], reference_n: int = REFERENCE_MASKS,
                   progress=None) -> QualityCurves:
    """Quality curves over `images` (B x 3 x H x W in [0, 1]) explaining `targets`, and the notebook's
    quality and time on each."""
    curves = QualityCurves(ours={(e, s): [] for e in RISE_ESTIMATORS for s in RISE_SAMPLERS})
    size = tuple(images.shape[-2:])
    for index, (image, target) in enumerate(zip(images, targets)):
        reference, reliability = reference_map(model, image, target, reference_n, seed=10_000 + index)
        curves.reference.append(reliability)
        for sampler in RISE_SAMPLERS:
            masks = generate_masks(COUNTS[-1], S, P1, size, generator=torch.Generator().manual_seed(index),
                                   sampler=sampler)
            probabilities = scores(model, image, masks, target)
            for estimator in RISE_ESTIMATORS:
                curves.ours[estimator, sampler].append(
                    [pearson(prefix_map(probabilities, masks, n, estimator), reference) for n in COUNTS])
        start = time.perf_counter()
        notebook = notebook_rise(model, image.permute(1, 2, 0).numpy(), NOTEBOOK_N, S, P1,
                                 np.random.default_rng(index), baseline=_numpy_baseline(model))
        curves.notebook_seconds.append(time.perf_counter() - start)
        curves.notebook.append(pearson(torch.from_numpy(notebook[target]), reference))
        if progress is not None:
            progress.update()
    return curves


def our_seconds(model, images: torch.Tensor, targets: list[int], n: int, sampler: str, estimator: str) -> float:
    """Median seconds of one map by our `rise` with `n` masks made fresh (as a user's call makes them)."""
    seconds = []
    for index, (image, target) in enumerate(zip(images, targets)):
        start = time.perf_counter()
        masks = generate_masks(n, S, P1, tuple(image.shape[-2:]), generator=torch.Generator().manual_seed(index),
                               sampler=sampler)
        with torch.no_grad():
            rise(model, image, masks=masks, p1=P1, target=ClassProbability(target), estimator=estimator)
        seconds.append(time.perf_counter() - start)
    return float(np.median(seconds))


def _numpy_baseline(model) -> np.ndarray | float:
    value = neutral_input(model)
    return value.reshape(1, 1, -1).cpu().numpy() if isinstance(value, torch.Tensor) else value


def rise_quality_rows(folder, count: int = 10, reference_n: int = REFERENCE_MASKS) -> list[tuple[str, float, str]]:
    """The quality-against-passes curve on `count` photos of `folder` (evenly spaced by name) with
    EfficientNet-Lite0 and each photo's top-1 class, and the time to the notebook's quality."""
    from tqdm import tqdm

    from engine.images import evenly_spread, image_files, read_crops
    from engine.models import load_classifier

    model = load_classifier("efficientnet_lite0")
    files = image_files(folder)
    crops, _ = read_crops(evenly_spread(files, count), model.input_size, model.resize_size)
    images = torch.from_numpy(np.ascontiguousarray(crops[..., ::-1])).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        targets = model(images).argmax(1).tolist()
    with tqdm(total=len(images), desc="RISE quality", unit="photo", leave=False) as bar:
        curves = measure_curves(model, images, targets, reference_n, bar)
    notebook_s = float(np.median(curves.notebook_seconds))
    rows = [(f"RISE reference ({reference_n} centred masks) vs true map", float(np.mean(curves.reference)), "r"),
            (f"RISE quality, notebook pipeline, {NOTEBOOK_N} passes", float(np.mean(curves.notebook)), "r"),
            ("  notebook pipeline time, one map (cpu)", notebook_s, "s")]
    for estimator, sampler in curves.ours:
        rows += [(f"RISE quality, {estimator} {sampler}, {n} passes", value, "r")
                 for n, value in zip(COUNTS, curves.mean((estimator, sampler)))]
    for estimator, sampler in curves.ours:
        passes = curves.passes_to_match((estimator, sampler))
        if passes is not None:
            seconds = our_seconds(model, images, targets, passes, sampler, estimator)
            rows += [(f"to the notebook's quality: {estimator} {sampler}, {passes} passes", seconds, "s"),
                     (f"  notebook / {estimator} {sampler}", notebook_s / seconds, "x")]
    return rows
