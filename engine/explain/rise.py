"""RISE saliency, batched over masks and kept in torch. Two estimators of the same map:

- "paper" (Petsiuk et al. 2018): Σ_i score_i · m_i / (N · p1), score_i = score(x ⊙ m_i).
- "centred" (the default): Σ_i (score_i − mean score) · m_i / (N · p1), a control variate. Its
  expectation differs from the paper's by a constant only, which no normalised map, ranking or
  deletion/insertion curve sees; it removes the noise of how often each pixel happened to be kept,
  so it reaches the same map with several times fewer masks (docs/explanations.md).

Masked-out pixels take the model's neutral input (`neutral_input`): the paper masks the normalised
image, so its zeros are the dataset's mean colour, not black. For our models, which standardise
[0, 1] input inside, that is mid-grey; black would look like a panda's patches to them.

Because every step is a torch operation, the map is differentiable with respect to the input when
the input requires grad (the explanation attack relies on it).
"""

from __future__ import annotations

import contextlib

import torch

from engine.choices import RISE_ESTIMATORS
from engine.errors import SaviourError
from engine.explain.masks import generate_masks
from engine.explain.targets import as_target

DEFAULT_BATCH = 128


def neutral_input(model) -> float | torch.Tensor:
    """The input value a model treats as "nothing here": its `neutral_input` attribute, else 0. A
    number, or one per channel (C x 1 x 1) for a model normalised by a dataset's mean colour."""
    value = getattr(getattr(model, "__self__", model), "neutral_input", 0.0)
    return value if isinstance(value, torch.Tensor) else float(value)


def neutral_image(model, like: torch.Tensor) -> torch.Tensor:
    """A tensor shaped like `like` filled with the model's neutral input (per channel for some models)."""
    return torch.zeros_like(like) + neutral_input(model)


def masked_images(image: torch.Tensor, masks: torch.Tensor, baseline: float | torch.Tensor) -> torch.Tensor:
    """image * m + baseline * (1 - m) for every mask m (N x 1 x H x W) of a C x H x W image: N x C x H x W
    in channels-last memory, which oneDNN's convolutions run about twice as fast on the CPU.

    Computed as baseline + m * (image - baseline) in N x H x W x C order: one pass that writes the
    batch in that layout, instead of four passes over it and a copy to change its layout.
    """
    baseline = torch.as_tensor(baseline, dtype=image.dtype, device=image.device)   # a number, or C x 1 x 1
    difference = (image - baseline).permute(1, 2, 0).contiguous()                   # H x W x C
    n, _, h, w = masks.shape
    return torch.addcmul(baseline.reshape(-1), masks.reshape(n, h, w, 1), difference).permute(0, 3, 1, 2)


def rise(model, x: torch.Tensor, masks: torch.Tensor | None = None, n: int = 4000, s: int = 8, p1: float = 0.5,
         target=None, batch_size: int = DEFAULT_BATCH, generator: torch.Generator | None = None,
         autocast: torch.dtype | None = None, baseline: float | torch.Tensor | None = None,
         estimator: str = "centred", sampler: str = "sobol") -> torch.Tensor:
    """RISE maps of `x` (C x H x W or B x C x H x W, values in [0, 1]).

    Args:
        model: any callable from an image batch to an output batch (logits, dense maps, ...).
        masks: N x 1 x H x W masks to reuse (the same masks make maps comparable); else N = `n` masks
            with grid `s` and keep probability `p1` are generated with `generator` and `sampler`
            ("sobol" by default: the same map from fewer masks than "random", see engine.explain.masks).
        target: None (every class's probability), a class index, or a callable output -> scores (see targets).
        batch_size: masked images per forward pass; memory grows with it, not with N (also when the
            map is differentiated: see `_BoundedRise`).
        autocast: run the model under autocast with this dtype (e.g. torch.bfloat16); scores are summed in fp32.
        baseline: value of masked-out pixels, x * m + baseline * (1 - m) (default: `neutral_input(model)`).
        estimator: "centred" (default) or "paper" (see the module's docstring).

    Returns:
        H x W per image for a single score, K x H x W for K scores; with a leading B when `x` had one.
    """
    batched = x.dim() == 4
    images = x if batched else x.unsqueeze(0)
    if masks is None:
        masks = generate_masks(n, s, p1, tuple(images.shape[-2:]), generator=generator, device=images.device,
                               sampler=sampler)
    score = as_target(target)
    baseline = neutral_input(model) if baseline is None else baseline
    centre = mean_mask(masks, estimator)
    grad = torch.is_grad_enabled() and x.requires_grad
    one = _BoundedRise.apply if grad and len(masks) > batch_size else _rise_one
    with torch.set_grad_enabled(grad):
        maps = torch.stack([one(model, image, masks, p1, score, batch_size, autocast, baseline, centre)
                            for image in images])
    return maps if batched else maps[0]


def mean_mask(masks: torch.Tensor, estimator: str) -> torch.Tensor | None:
    """The centred estimator's control: the masks' mean (H*W), which Σ (score_i − mean score) · m_i
    equals Σ score_i · (m_i − mean mask) with; None for the paper's estimator."""
    check_estimator(estimator)
    return masks.mean(0).flatten() if estimator == "centred" else None


def check_estimator(estimator: str) -> None:
    if estimator not in RISE_ESTIMATORS:
        raise SaviourError(f"unknown RISE estimator {estimator!r} (known: {', '.join(RISE_ESTIMATORS)})")


class _BoundedRise(torch.autograd.Function):
    """A RISE map differentiable in the image in memory bounded by the batch, not by N.

    Autograd would keep every batch's activations until the backward pass (gigabytes for a ResNet
    and a few hundred masks). The map is a sum over batches of masks, so its gradient is the sum of
    each batch's, which the backward pass recomputes one batch at a time: one extra forward pass.
    Gradients reach the image only, not the model's parameters, and only to first order.
    """

    @staticmethod
    def forward(ctx, model, image, masks, p1, score, batch_size, autocast, baseline, centre):
        ctx.save_for_backward(image)
        ctx.settings = model, masks, p1, score, batch_size, autocast, baseline, centre
        return _rise_one(model, image, masks, p1, score, batch_size, autocast, baseline, centre)

    @staticmethod
    def backward(ctx, grad_map):
        image, = ctx.saved_tensors
        model, masks, p1, score, batch_size, autocast, baseline, centre = ctx.settings
        grad = torch.zeros_like(image)
        for start in range(0, len(masks), batch_size):
            chunk = masks[start:start + batch_size]
            with torch.enable_grad():
                leaf = image.detach().requires_grad_(True)
                part = _rise_one(model, leaf, chunk, p1, score, batch_size, autocast, baseline, centre)
                # the batch's share of the full map: its own map weighted by its share of the masks
                # (centred on the whole bank's mean mask, so the shares still add up to the map)
                grad += torch.autograd.grad(part * (len(chunk) / len(masks)), leaf, grad_map)[0]
        return None, grad, None, None, None, None, None, None, None


def _rise_one(model, image, masks, p1, score, batch_size, autocast, baseline, centre=None) -> torch.Tensor:
    n, _, h, w = masks.shape
    scores = []
    for start in range(0, n, batch_size):
        masked = masked_images(image, masks[start:start + batch_size], baseline)
        with autocast_context(image.device, autocast):
            out = model(masked)
        scores.append(score(out).float())
    single = scores[0].dim() == 1
    maps = weighted_masks(torch.cat(scores).reshape(n, -1), masks, p1, centre)
    return maps[0] if single else maps


def weighted_masks(scores: torch.Tensor, masks: torch.Tensor, p1: float, centre: torch.Tensor | None) -> torch.Tensor:
    """The maps (K x H x W) of N x K scores of N masks: Σ s_i m_i / (N p1), or Σ s_i (m_i − centre) / (N p1).

    One product over all masks at the end: a running sum of per-batch products would read and write
    the K x H x W total once per batch (200 MB for ImageNet's 1000 classes at 224x224)."""
    n, _, h, w = masks.shape
    maps = scores.T @ masks.reshape(n, h * w)
    if centre is not None:   # without an N x H x W copy of the masks
        maps = maps - scores.sum(0)[:, None] * centre[None]
    return (maps / (n * p1)).reshape(-1, h, w)


def autocast_context(device: torch.device, dtype: torch.dtype | None):
    """torch.autocast to `dtype` on `device`'s type, or nothing when `dtype` is None."""
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=dtype)
