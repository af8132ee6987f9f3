"""Comparing explanation maps and scoring them against the model and the ground truth.

- SSIM, MSE and PSNR between two maps, and their Pearson correlation, each first scaled to [0, 1] (scikit-image); `ssim_torch`, the
  same SSIM differentiable in torch, for attacks that optimise it.
- Deletion and insertion AUC (Petsiuk et al. 2018): pixels removed from the image, or inserted
  into a blurred copy, in decreasing saliency; the area under the class-probability curve. A removed
  pixel takes the model's neutral input, as RISE's masked pixels do (see engine.explain.rise).
- Pointing game: a hit when the map's maximum lies within `tolerance` pixels of the object's box.
- Heat share: how much of a map's heat lies in a region, such as an attack's target.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from engine.explain.rise import neutral_image

POINTING_TOLERANCE = 15


def unit_range(saliency) -> np.ndarray:
    """A map as float64 scaled to [0, 1] by its own min and max (a constant map becomes zeros)."""
    m = np.asarray(saliency.detach().cpu() if isinstance(saliency, torch.Tensor) else saliency, np.float64)
    span = m.max() - m.min()
    return (m - m.min()) / span if span > 0 else np.zeros_like(m)


def compare_maps(a, b) -> dict:
    """SSIM, MSE and PSNR (dB) between two maps after scaling each to [0, 1]."""
    # imported here: scikit-image's metrics pull in SciPy's statistics, seconds at start-up
    from skimage.metrics import mean_squared_error, peak_signal_noise_ratio, structural_similarity

    a, b = unit_range(a), unit_range(b)
    mse = float(mean_squared_error(a, b))
    return {"ssim": float(structural_similarity(a, b, data_range=1.0)), "mse": mse,
            "psnr": float(peak_signal_noise_ratio(a, b, data_range=1.0)) if mse > 0 else float("inf")}


def pearson(a, b) -> float:
    """Pearson correlation of two maps (tensors or arrays of the same size), in float64."""
    a, b = (np.asarray(m.detach().cpu() if isinstance(m, torch.Tensor) else m, np.float64).ravel() for m in (a, b))
    return float(np.corrcoef(a, b)[0, 1])


def heat_share(saliency, region) -> float:
    """Share of a map's heat (the map scaled to [0, 1]) that lies in the boolean `region`; a map with
    no heat anywhere counts as spread evenly."""
    heat, region = unit_range(saliency), np.asarray(region, bool)
    total = heat.sum()
    return float(heat[region].sum() / total) if total > 0 else float(region.mean())


def unit_range_torch(saliency: torch.Tensor) -> torch.Tensor:
    """`unit_range` in torch, differentiable (a constant map becomes zeros)."""
    low = saliency.min()
    return (saliency - low) / (saliency.max() - low).clamp_min(1e-12)


def ssim_torch(a: torch.Tensor, b: torch.Tensor, window: int = 7, data_range: float = 1.0) -> torch.Tensor:
    """Mean SSIM of two H x W maps as scikit-image's `structural_similarity` computes it by default
    (uniform window, sample covariance, borders left out), but differentiable. No rescaling is done."""
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    dtype = a.dtype
    a, b = a[None, None].double(), b[None, None].double()   # the variances are small differences of squares

    def local_mean(t):
        return F.avg_pool2d(t, window, stride=1)

    mean_a, mean_b = local_mean(a), local_mean(b)
    unbiased = window ** 2 / (window ** 2 - 1)
    var_a = (local_mean(a * a) - mean_a ** 2) * unbiased
    var_b = (local_mean(b * b) - mean_b ** 2) * unbiased
    cov = (local_mean(a * b) - mean_a * mean_b) * unbiased
    local = ((2 * mean_a * mean_b + c1) * (2 * cov + c2)) / ((mean_a ** 2 + mean_b ** 2 + c1) * (var_a + var_b + c2))
    return local.mean().to(dtype)


def pointing_hit(saliency, box, tolerance: float = POINTING_TOLERANCE) -> bool:
    """Whether the map's maximum is within `tolerance` pixels of box (x0, y0, x1, y1)."""
    m = np.asarray(saliency.detach().cpu() if isinstance(saliency, torch.Tensor) else saliency)
    y, x = np.unravel_index(int(np.argmax(m)), m.shape)
    x0, y0, x1, y1 = box
    dx = max(x0 - x, 0.0, x - x1)
    dy = max(y0 - y, 0.0, y - y1)
    return bool(np.hypot(dx, dy) <= tolerance)


def deletion_auc(model, image: torch.Tensor, saliency: torch.Tensor, target: int, step: int | None = None,
                 batch_size: int = 128) -> float:
    """Area under the probability of `target` as the most salient pixels are removed (set to the model's
    neutral input), `step` pixels at a time (default: one image row's worth)."""
    removed = neutral_image(model, image)
    return _causal_auc(model, image, saliency, target, removed, image, step, batch_size)


def insertion_auc(model, image: torch.Tensor, saliency: torch.Tensor, target: int, step: int | None = None,
                  batch_size: int = 128) -> float:
    """Area under the probability of `target` as the most salient pixels are put back into a blurred copy."""
    return _causal_auc(model, image, saliency, target, image, blur(image), step, batch_size)


def blur(image: torch.Tensor, size: int = 11, sigma: float = 5.0) -> torch.Tensor:
    """Gaussian blur of a C x H x W image (the RISE paper's insertion start: kernel 11, sigma 5)."""
    r = torch.arange(size, dtype=image.dtype, device=image.device) - size // 2
    kernel = torch.exp(-r ** 2 / (2 * sigma ** 2))
    kernel = kernel / kernel.sum()
    c = image.shape[0]
    x = F.pad(image.unsqueeze(0), [size // 2] * 4, mode="replicate")
    x = F.conv2d(x, kernel.view(1, 1, 1, -1).expand(c, 1, 1, size), groups=c)
    x = F.conv2d(x, kernel.view(1, 1, -1, 1).expand(c, 1, size, 1), groups=c)
    return x[0]


@torch.no_grad()
def _causal_auc(model, image, saliency, target, early, late, step, batch_size) -> float:
    """At step k the pixels ranked below k * step show `early`, the rest `late`; trapezoid area over [0, 1]."""
    h, w = image.shape[-2:]
    step = step or w
    order = torch.as_tensor(saliency, dtype=torch.float32, device=image.device).flatten().argsort(descending=True)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(h * w, device=image.device)
    rank = rank.view(1, 1, h, w)
    n_steps = -(-h * w // step)
    probs = []
    for start in range(0, n_steps + 1, batch_size):
        k = torch.arange(start, min(n_steps + 1, start + batch_size), device=image.device).view(-1, 1, 1, 1)
        batch = torch.where(rank < k * step, early, late)
        probs.append(model(batch).softmax(1)[:, target].float())
    curve = torch.cat(probs).cpu().numpy()
    return float((curve[:-1] + curve[1:]).sum() / 2 / n_steps)
