"""One entry point for every explanation method: `explain(model, x, method, target)` -> H x W maps.

RISE is ours (engine.explain.rise); the others are Captum's. A target is a class index per image, a
callable score (see engine.explain.targets) or None for each image's predicted class.
"""

from __future__ import annotations

import torch
from torch import nn

from engine.choices import EXPLANATION_METHODS as METHODS
from engine.errors import SaviourError
from engine.explain.rise import DEFAULT_BATCH, neutral_image, rise
from engine.explain.targets import ClassProbability


def explain(model: nn.Module, x: torch.Tensor, method: str = "rise", target=None, *, batch_size: int = DEFAULT_BATCH,
            masks: torch.Tensor | None = None, n: int = 4000, s: int = 8, p1: float = 0.5,
            generator: torch.Generator | None = None, steps: int = 32, layer: nn.Module | None = None,
            window: int = 12, autocast: torch.dtype | None = None) -> torch.Tensor:
    """Explanation maps of `x` (C x H x W or B x C x H x W, values in [0, 1]).

    Args:
        method: one of METHODS.
        target: a class index, one per image (list or tensor), a callable from the model's output to
            one score per image, or None for each image's predicted class. RISE scores the class's
            probability, the gradient methods its logit.
        batch_size: inputs per forward pass (RISE masks, IG steps, occlusion windows) to bound memory.
        masks, n, s, p1, generator: RISE settings (see engine.explain.rise).
        steps: Integrated Gradients steps from the model's neutral input (see engine.explain.rise).
        layer: Grad-CAM layer (default: the model's `gradcam_layer`, else its last Conv2d).
        window: occlusion window side in pixels (stride half of it), filled with the neutral input.
        autocast: RISE only: run the model's passes under autocast in this dtype (e.g. torch.bfloat16).

    Returns:
        B x H x W float maps (H x W for a single C x H x W image).
    """
    if method not in METHODS:
        raise SaviourError(f"unknown explanation method {method!r} (known: {', '.join(METHODS)})")
    batched = x.dim() == 4
    images = x if batched else x.unsqueeze(0)
    targets = _targets(model, images, target)
    if method == "rise":
        maps = torch.stack([rise(model, image, masks=masks, n=n, s=s, p1=p1, generator=generator,
                                 target=t if callable(t) else ClassProbability(t), batch_size=batch_size,
                                 autocast=autocast)
                            for image, t in zip(images, targets)])
    else:
        maps = torch.cat([_captum(model, image.unsqueeze(0), method, t, batch_size, steps, layer, window)
                          for image, t in zip(images, targets)])
    return maps if batched else maps[0]


def _targets(model, images, target) -> list:
    if target is None:
        with torch.no_grad():
            return model(images).argmax(1).tolist()
    if callable(target):
        return [target] * len(images)
    if isinstance(target, int):
        return [target] * len(images)
    target = [int(t) for t in target]
    if len(target) != len(images):
        raise SaviourError(f"got {len(target)} targets for {len(images)} images")
    return target


def _captum(model, image, method, target, batch_size, steps, layer, window) -> torch.Tensor:
    # imported here: Captum takes seconds to import, and the live heatmap (RISE) never needs it
    from captum.attr import IntegratedGradients, LayerAttribution, LayerGradCam, Occlusion, Saliency

    forward, index = model, target
    if callable(target):
        forward, index = (lambda inp: target(model(inp))), None
    else:
        _check_class(model, image, target)
    image = image.detach().requires_grad_(True)
    if method == "integrated_gradients":
        attribution = IntegratedGradients(forward).attribute(
            image, baselines=neutral_image(model, image), target=index, n_steps=steps, internal_batch_size=batch_size)
        return attribution.sum(1).abs().detach()
    if method == "saliency":
        return Saliency(forward).attribute(image, target=index, abs=True).amax(1).detach()
    if method == "gradcam":
        cam = LayerGradCam(forward, layer or _gradcam_layer(model)).attribute(image, target=index, relu_attributions=True)
        return LayerAttribution.interpolate(cam, tuple(image.shape[-2:]), interpolate_mode="bilinear")[:, 0].detach()
    stride = max(1, window // 2)
    attribution = Occlusion(forward).attribute(
        image, baselines=neutral_image(model, image), target=index, sliding_window_shapes=(image.shape[1], window, window),
        strides=(image.shape[1], stride, stride), perturbations_per_eval=batch_size)
    return attribution.mean(1).detach()   # the window spans every channel: each holds the same share


def _check_class(model, image, index) -> None:
    with torch.no_grad():
        ClassProbability(index)(model(image))


def _gradcam_layer(model: nn.Module) -> nn.Module:
    """The model's own choice (`gradcam_layer`, for models that call their convolutions functionally),
    else its last Conv2d."""
    layer = getattr(model, "gradcam_layer", None)
    if layer is not None:
        return layer
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise SaviourError("gradcam needs a convolutional layer; pass layer=... for this model")
    return convs[-1]
