"""Explanation methods, one class each with one verb, as Captum's: built with the method's settings,
`attribute(model, image, target)` gives the map of one 1 x C x H x W image. `METHODS` names them;
`explain(model, x, method, target, **settings)` is the convenience over a batch.

RISE is ours (engine.explain.rise); the others are Captum's. A target is a class index, a callable
score (see engine.explain.targets), or None for each image's predicted class.
"""

from __future__ import annotations

import inspect

import torch
import torch.nn.functional as F
from torch import nn

from engine.errors import SaviourError
from engine.explain.rise import DEFAULT_BATCH, neutral_image, rise
from engine.explain.targets import ClassProbability


class Rise:
    """RISE: the probability of the target under random masks (masks, n, s, p1, generator, estimator,
    sampler: see engine.explain.rise); `autocast` runs the model's passes in that dtype (e.g. torch.bfloat16)."""

    def __init__(self, masks: torch.Tensor | None = None, n: int = 4000, s: int = 8, p1: float = 0.5,
                 generator: torch.Generator | None = None, batch_size: int = DEFAULT_BATCH,
                 autocast: torch.dtype | None = None, estimator: str = "centred", sampler: str = "sobol"):
        self.settings = {"masks": masks, "n": n, "s": s, "p1": p1, "generator": generator,
                         "batch_size": batch_size, "autocast": autocast, "estimator": estimator, "sampler": sampler}

    def attribute(self, model: nn.Module, image: torch.Tensor, target) -> torch.Tensor:
        score = target if callable(target) else ClassProbability(target)
        return rise(model, image[0], target=score, **self.settings)[None]


class _Captum:
    """A Captum method on the target's logit (or a callable score of the output)."""

    def attribute(self, model: nn.Module, image: torch.Tensor, target) -> torch.Tensor:
        forward, index = model, target
        if callable(target):
            forward, index = (lambda inp: target(model(inp))), None
        else:
            with torch.no_grad():
                ClassProbability(index)(model(image))   # a class the model lacks: one clear error
        return self._attribute(model, forward, image.detach().requires_grad_(True), index).detach()


class IntegratedGradients(_Captum):
    """Integrated Gradients from the model's neutral input in `steps` steps, `batch_size` at a time."""

    def __init__(self, steps: int = 32, batch_size: int = DEFAULT_BATCH):
        self.steps, self.batch_size = steps, batch_size

    def _attribute(self, model, forward, image, index) -> torch.Tensor:
        from captum.attr import IntegratedGradients as Captums  # Captum takes seconds to import
        attribution = Captums(forward).attribute(image, baselines=neutral_image(model, image), target=index,
                                                 n_steps=self.steps, internal_batch_size=self.batch_size)
        return attribution.sum(1).abs()


class Saliency(_Captum):
    """The largest absolute gradient over the channels."""

    def _attribute(self, model, forward, image, index) -> torch.Tensor:
        from captum.attr import Saliency as Captums
        return Captums(forward).attribute(image, target=index, abs=True).amax(1)


class GradCam(_Captum):
    """Grad-CAM at `layer` (default: the model's `gradcam_layer`, else its last Conv2d), upsampled."""

    def __init__(self, layer: nn.Module | None = None):
        self.layer = layer

    def _attribute(self, model, forward, image, index) -> torch.Tensor:
        from captum.attr import LayerAttribution, LayerGradCam
        cam = LayerGradCam(forward, self.layer or gradcam_layer(model)).attribute(image, target=index,
                                                                                  relu_attributions=True)
        return LayerAttribution.interpolate(cam, tuple(image.shape[-2:]), interpolate_mode="bilinear")[:, 0]


class Occlusion(_Captum):
    """The score's drop as a `window` px square (stride half of it) is filled with the neutral input."""

    def __init__(self, window: int = 12, batch_size: int = DEFAULT_BATCH):
        self.window, self.batch_size = window, batch_size

    def _attribute(self, model, forward, image, index) -> torch.Tensor:
        from captum.attr import Occlusion as Captums
        stride, channels = max(1, self.window // 2), image.shape[1]
        attribution = Captums(forward).attribute(
            image, baselines=neutral_image(model, image), target=index, strides=(channels, stride, stride),
            sliding_window_shapes=(channels, self.window, self.window), perturbations_per_eval=self.batch_size)
        return attribution.mean(1)   # the window spans every channel: each holds the same share


class ClassEvidence:
    """The class-evidence map (class activation mapping) of a model that ends in global average pooling
    and a linear layer (`evidence`, as ImageNet models have): the target's logit at every position of
    the last feature map, upsampled bilinearly. One forward pass, no gradient."""

    @staticmethod
    def check(model: nn.Module) -> None:
        if not getattr(model, "has_evidence", False):
            raise SaviourError("the evidence method needs a model that ends in average pooling and a linear "
                               "layer, such as --model efficientnet_lite0")

    def attribute(self, model: nn.Module, image: torch.Tensor, target) -> torch.Tensor:
        self.check(model)
        if callable(target):
            raise SaviourError("the evidence method explains a class index, not a score of the output")
        with torch.no_grad():
            evidence = model.evidence(image)
            ClassProbability(target)(evidence.mean((2, 3)))   # a class the model lacks: one clear error
        return F.interpolate(evidence[:, target:target + 1], size=tuple(image.shape[-2:]), mode="bilinear",
                             align_corners=False)[:, 0]


METHODS = {"rise": Rise, "integrated_gradients": IntegratedGradients, "saliency": Saliency, "gradcam": GradCam,
           "occlusion": Occlusion, "evidence": ClassEvidence}


def explainer(method: str, **settings):
    """The method's explainer, given the settings it takes (others are for other methods: ignored)."""
    if method not in METHODS:
        raise SaviourError(f"unknown explanation method {method!r} (known: {', '.join(METHODS)})")
    kind = METHODS[method]
    accepted = inspect.signature(kind).parameters
    return kind(**{k: v for k, v in settings.items() if k in accepted})


def explain(model: nn.Module, x: torch.Tensor, method: str = "rise", target=None, **settings) -> torch.Tensor:
    """Explanation maps of `x` (C x H x W or B x C x H x W, values in [0, 1]) by `method`, one of
    METHODS, with its settings (see each method's class). `target`: a class index, one per image (a
    list or tensor), a callable from the model's output to one score per image, or None for each
    image's predicted class. Returns B x H x W float maps (H x W for a single image)."""
    how = explainer(method, **settings)
    images = x if x.dim() == 4 else x.unsqueeze(0)
    targets = _targets(model, images, target)
    maps = torch.cat([how.attribute(model, image[None], t) for image, t in zip(images, targets)])
    return maps if x.dim() == 4 else maps[0]


def _targets(model, images, target) -> list:
    if target is None:
        with torch.no_grad():
            return model(images).argmax(1).tolist()
    if callable(target) or isinstance(target, int):
        return [target] * len(images)
    target = [int(t) for t in target]
    if len(target) != len(images):
        raise SaviourError(f"got {len(target)} targets for {len(images)} images")
    return target


def gradcam_layer(model: nn.Module) -> nn.Module:
    """The model's own choice (`gradcam_layer`, for models that call their convolutions functionally),
    else its last Conv2d."""
    layer = getattr(model, "gradcam_layer", None)
    if layer is not None:
        return layer
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    if not convs:
        raise SaviourError("gradcam needs a convolutional layer; pass layer=... for this model")
    return convs[-1]
