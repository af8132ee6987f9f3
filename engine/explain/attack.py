"""Attacking explanations (Dombrowski et al. 2019): change the map, keep the prediction.

Minimise d(h(x_adv), h_target) + γ‖g(x_adv) − g(x)‖² over x_adv with Adam, projecting onto the L∞
ball of radius eps (and [0, 1]) after every step; g is the softmax output. The paper's map distance d
is ‖·‖² between maps normalised to mean 1 (`map_loss="mse"`). The default is 1 − SSIM between maps
scaled to [0, 1], the measure the report gives: a squared distance to a smooth target blob rewards
spreading heat thinly, SSIM rewards leaving every pixel away from the target cold.

Gradient explanations of a ReLU network have no useful second derivative, so they are taken on a copy
whose ReLUs are softplus_β, with β growing during the attack; RISE uses fixed masks and is
differentiable as it is.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.choices import ATTACKABLE, MAP_LOSSES
from engine.errors import SaviourError
from engine.explain.rise import rise
from engine.explain.targets import ClassProbability
from engine.explain.metrics import ssim_torch, unit_range_torch


@dataclass
class ExplanationAttack:
    """Settings: budget eps (L∞, [0, 1] scale), Adam steps and rate, γ (output term weight), softplus β range,
    the map distance ("ssim" or the paper's "mse")."""

    method: str = "saliency"
    eps: float = 8 / 255
    steps: int = 300
    lr: float = 1e-3
    gamma: float = 10.0
    beta: tuple[float, float] = (10.0, 100.0)
    masks: torch.Tensor | None = None     # RISE: the fixed masks
    p1: float = 0.5
    batch_size: int | None = None         # RISE: masked images per pass (None: all); fewer bound memory
    map_loss: str = "ssim"

    def __post_init__(self):
        if self.method not in ATTACKABLE:
            raise SaviourError(f"cannot attack {self.method!r} explanations (attackable: {', '.join(ATTACKABLE)})")
        if not 0 < self.eps <= 1:
            raise SaviourError(f"attack budget eps must be in (0, 1], the [0, 1] pixel scale (8/255 for 8 levels), "
                               f"got {self.eps}")
        if self.map_loss not in MAP_LOSSES:
            raise SaviourError(f"unknown map loss {self.map_loss!r} (known: {', '.join(MAP_LOSSES)})")
        if self.method == "rise" and self.masks is None:
            raise SaviourError("a RISE attack needs fixed masks (masks=generate_masks(...))")

    def explanation(self, model: nn.Module, x: torch.Tensor, target: int, beta: float | None = None) -> torch.Tensor:
        """The map being attacked, differentiable in x (1 x C x H x W), scaled as `map_loss` compares maps."""
        if self.method == "rise":
            # the paper's estimator, as the measured farm attack (docs/explanations.md) used
            saliency = rise(model, x[0], masks=self.masks, p1=self.p1, target=ClassProbability(target),
                            batch_size=self.batch_size or len(self.masks), estimator="paper")
        else:
            smooth = softplus_copy(model, beta) if beta is not None else model
            score = smooth(x)[:, target].sum()
            gradient, = torch.autograd.grad(score, x, create_graph=True)
            saliency = gradient.abs().amax(1)[0]
        return self._scaled(saliency)

    def _scaled(self, saliency: torch.Tensor) -> torch.Tensor:
        if self.map_loss == "ssim":
            return unit_range_torch(saliency)
        return saliency / saliency.mean().clamp_min(1e-12)

    def map_distance(self, saliency: torch.Tensor, goal: torch.Tensor) -> torch.Tensor:
        """How far a scaled map is from the scaled target: 1 − SSIM, or the mean squared difference."""
        if self.map_loss == "ssim":
            return 1 - ssim_torch(saliency, goal)
        return ((saliency - goal) ** 2).mean()

    def __call__(self, model: nn.Module, x: torch.Tensor, target_map: torch.Tensor, progress=None) -> torch.Tensor:
        """Adversarial version of `x` (C x H x W in [0, 1]) whose map moves toward `target_map` (H x W)."""
        x = x.detach().unsqueeze(0)
        goal = self._scaled(target_map.to(x))
        with torch.no_grad():
            clean = model(x).softmax(1)
        label = int(clean.argmax())
        delta = torch.zeros_like(x, requires_grad=True)
        optimiser = torch.optim.Adam([delta], lr=self.lr)
        best, best_loss = x[0].clone(), math.inf
        for step in range(self.steps):
            beta = self.beta[0] * (self.beta[1] / self.beta[0]) ** (step / max(1, self.steps - 1))
            x_adv = (x + delta).requires_grad_(True)
            map_loss = self.map_distance(self.explanation(model, x_adv, label, beta), goal)
            output = model(x_adv).softmax(1)
            loss = map_loss + self.gamma * ((output - clean) ** 2).sum()
            true_loss = self._true_map_loss(model, x_adv, label, goal) if self.method != "rise" else map_loss.item()
            best, best_loss = _better(best, best_loss, x_adv, output, label, true_loss)
            optimiser.zero_grad()
            _backward(loss, self.method)
            optimiser.step()
            with torch.no_grad():
                delta.clamp_(-self.eps, self.eps)
                delta.copy_((x + delta).clamp(0, 1) - x)
            if progress is not None:
                progress.update(1)
        final = (x + delta).detach()
        with torch.no_grad():
            output = model(final).softmax(1)
        return _better(best, best_loss, final, output, label, self._true_map_loss(model, final, label, goal))[0]

    def _true_map_loss(self, model, x_adv, label, goal) -> float:
        """The map loss on the real network (ReLU, no softplus): what the report will measure."""
        with torch.set_grad_enabled(self.method != "rise"):
            real = self.explanation(model, x_adv.detach().requires_grad_(self.method != "rise"), label).detach()
        return self.map_distance(real, goal).item()


def _backward(loss: torch.Tensor, method: str) -> None:
    """loss.backward(), with a clear error when the network has an operation without a second
    derivative (a gradient explanation's attack differentiates the gradient)."""
    try:
        loss.backward()
    except RuntimeError as error:
        if "derivative for" not in str(error):
            raise
        raise SaviourError(f"the {method} attack needs second derivatives, and this network has an operation "
                           f"without one ({str(error).splitlines()[0]}); try --method rise") from None


def _better(best, best_loss, x_adv, output, label, true_loss):
    """(image, loss) of the better iterate: the one whose real map is closer, with the class unchanged."""
    if int(output.argmax()) == label and true_loss < best_loss:
        return x_adv[0].detach().clone(), true_loss
    return best, best_loss


def softplus_copy(model: nn.Module, beta: float) -> nn.Module:
    """A copy of `model` (sharing its parameters) with every piecewise-linear activation module made
    smooth by softplus_β: ReLU, and ReLU6, Hardsigmoid, Hardswish (MobileNets), whose second
    derivative PyTorch does not even implement."""
    smooth = copy.copy(model)
    smooth._modules = {name: _smooth(child, beta) for name, child in model._modules.items()}
    return smooth


def _smooth(module: nn.Module, beta: float) -> nn.Module:
    if (isinstance(module, nn.Conv2d) and module.groups > 1 and isinstance(module.padding, tuple)
            and not module.weight.requires_grad):
        return _GroupedConv(module)
    if isinstance(module, nn.ReLU):
        return nn.Softplus(beta)
    if isinstance(module, nn.ReLU6):
        return _SoftClamp(beta, 0.0, 6.0, 1.0)
    if isinstance(module, nn.Hardsigmoid):   # clamp(x + 3, 0, 6) / 6
        return _SoftClamp(beta, -3.0, 3.0, 1 / 6)
    if isinstance(module, nn.Hardswish):     # x * hardsigmoid(x)
        return _SoftClamp(beta, -3.0, 3.0, 1 / 6, times_input=True)
    return softplus_copy(module, beta)


class _GroupedConv(nn.Module):
    """A grouped convolution (sharing the module's weights) whose input gradient is written as a
    transposed convolution, so that its own gradient is one convolution. PyTorch's double backward
    of a grouped convolution runs one convolution per group: 9,000 calls a step for
    EfficientNet-Lite0's depthwise layers, several times slower. Weights get no gradient here."""

    def __init__(self, conv: nn.Conv2d):
        super().__init__()
        self.conv = conv

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.conv
        return _GradientAsTransposed.apply(x, c.weight, c.bias, c.stride, c.padding, c.dilation, c.groups)


class _GradientAsTransposed(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, weight, bias, stride, padding, dilation, groups):
        ctx.save_for_backward(weight)
        ctx.settings = stride, padding, dilation, groups, x.shape[-2:]
        return F.conv2d(x, weight, bias, stride, padding, dilation, groups)

    @staticmethod
    def backward(ctx, grad):
        weight, = ctx.saved_tensors
        stride, padding, dilation, groups, size = ctx.settings
        # the output padding that gives back the input's size when the stride dropped pixels
        extra = tuple(size[i] - ((grad.shape[2 + i] - 1) * stride[i] - 2 * padding[i]
                                 + dilation[i] * (weight.shape[2 + i] - 1) + 1) for i in (0, 1))
        grad_x = F.conv_transpose2d(grad, weight, None, stride, padding, extra, groups, dilation)
        return grad_x, None, None, None, None, None, None


class _SoftClamp(nn.Module):
    """scale * clamp(x - low, 0, high - low), with softplus_β for each corner (times x if asked)."""

    def __init__(self, beta: float, low: float, high: float, scale: float, times_input: bool = False):
        super().__init__()
        self.beta, self.low, self.high, self.scale, self.times_input = beta, low, high, scale, times_input

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ramp = F.softplus(x - self.low, self.beta) - F.softplus(x - self.high, self.beta)
        return ramp * self.scale * (x if self.times_input else 1)


def blob(size: tuple[int, int], centre: tuple[float, float], sigma: float) -> torch.Tensor:
    """A Gaussian heat blob (H x W) at centre (x, y): a target map."""
    h, w = size
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32), indexing="ij")
    return torch.exp(-((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / (2 * sigma ** 2))


def centre_target(size: tuple[int, int]) -> torch.Tensor:
    """The notebook's target: heat in the middle of the image."""
    return blob(size, ((size[1] - 1) / 2, (size[0] - 1) / 2), min(size) / 8)


def away_target(size: tuple[int, int], box) -> torch.Tensor:
    """Heat on the image corner farthest from the object's box: where a decoy would sit."""
    h, w = size
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    corners = [(w * 0.2, h * 0.2), (w * 0.8, h * 0.2), (w * 0.2, h * 0.8), (w * 0.8, h * 0.8)]
    far = max(corners, key=lambda c: (c[0] - cx) ** 2 + (c[1] - cy) ** 2)
    return blob(size, far, min(size) / 8)
