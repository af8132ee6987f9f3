"""How close a RISE map over fixed masks can come to a target map at all.

A RISE map is Σ_i s_i · m_i / (N · p1): linear in the masked images' scores s_i ∈ [0, 1] (class
probabilities). An attack on the network moves those scores only through the image, so no attack
brings the map closer to the target than the best choice of scores does. That choice is searched
for here: bounded least squares fits the map to the target up to scale and offset, then projected
Adam refines the SSIM the attack report measures. The refinement is local, so the result is an
estimate from below of the reachable similarity. Where it stays far under a goal, the goal needs
more masks rather than a stronger attack: with few masks a map is a coarse sum of blurred grids, and
SSIM punishes every ripple where the target is flat.
"""

from __future__ import annotations

import numpy as np
import torch

from engine.explain.metrics import compare_maps, ssim_torch, unit_range_torch

TARGET_SCALES = (3.0, 10.0)   # the target's amplitude in map units (a few masks' worth): fits differ
REFINE_STEPS = 1000


def reachable_ssim(masks: torch.Tensor, target_map: torch.Tensor) -> float:
    """The best SSIM to `target_map` (H x W) found for a RISE map over `masks` (N x 1 x H x W) with
    each masked image's score set freely in [0, 1]."""
    basis = masks.detach().reshape(len(masks), -1).double().cpu()
    goal = target_map.detach().double().cpu()
    fits = _least_squares_scores(basis, goal, TARGET_SCALES)
    return max(_ssim(basis, _refined(basis, goal, scores), goal) for scores in fits)


def _least_squares_scores(basis: torch.Tensor, goal: torch.Tensor, scales) -> list[torch.Tensor]:
    """Per scale, the scores in [0, 1] whose map is closest to scale · goal + any constant."""
    from scipy.optimize import lsq_linear   # imported here: SciPy's optimisers take a second to import

    n = len(basis)
    system = np.concatenate([basis.numpy().T, np.ones((basis.shape[1], 1))], 1)   # once: 74 MB, 1000 masks at 96x96
    bounds = (np.r_[np.zeros(n), -np.inf], np.r_[np.ones(n), np.inf])
    return [torch.from_numpy(lsq_linear(system, scale * goal.reshape(-1).numpy(), bounds=bounds).x[:n])
            for scale in scales]


def _refined(basis: torch.Tensor, goal: torch.Tensor, scores: torch.Tensor) -> torch.Tensor:
    """Projected Adam on the SSIM of the scaled map; the best scores seen (the start included)."""
    scores = scores.clone().requires_grad_(True)
    optimiser = torch.optim.Adam([scores], lr=0.005)
    best, best_similarity = scores.detach().clone(), -np.inf
    scaled_goal = unit_range_torch(goal)
    for _ in range(REFINE_STEPS):
        similarity = ssim_torch(unit_range_torch(scores @ basis).reshape(goal.shape), scaled_goal)
        if similarity.item() > best_similarity:
            best, best_similarity = scores.detach().clone(), similarity.item()
        optimiser.zero_grad()
        (-similarity).backward()
        optimiser.step()
        with torch.no_grad():
            scores.clamp_(0, 1)
    return best


def _ssim(basis: torch.Tensor, scores: torch.Tensor, goal: torch.Tensor) -> float:
    return compare_maps((scores @ basis).reshape(goal.shape), goal)["ssim"]
