"""The explanation attack as Dombrowski et al. (2019) ran it on ImageNet (their code: src/run_attack.py
of pankessel/adv_explanation_ref): make image x explain itself like another image does.

- The target map is the explanation of another image, of its own top-1 class.
- Maps: |h| summed over the channels, normalised to sum 1, where h is the gradient of the class's
  logit with respect to the normalised image (Gradient), that times the normalised image (Gradient
  x Input), or Integrated Gradients of the class's probability from the zero (mean-colour) image
  in 30 steps, times the image. RISE: the paper's estimator over fixed masks, normalised to sum 1.
- Loss: 1e11 * MSE(maps) + 1e6 * MSE(softmax outputs), Adam with lr 2e-4 on the normalised image,
  1500 steps; after each step the image is clamped to the valid pixel range. They put no L-infinity
  bound; `eps` adds one.
- ReLU has no useful second derivative: the maps being optimised are taken on a copy whose ReLU (and
  ReLU6, EfficientNet-Lite's) are softplus_beta, beta growing from 10 to 100; the results are
  measured on the real network.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from engine.choices import PAIR_METHODS
from engine.errors import SaviourError
from engine.explain.attack import softplus_copy
from engine.explain.rise import rise
from engine.explain.targets import ClassProbability

IG_STEPS = 30


@dataclass
class PairAttack:
    """Settings as theirs by default; `eps` (on the [0, 1] pixel scale) bounds the change if given."""

    method: str = "gradient"
    steps: int = 1500
    lr: float = 2e-4                 # Adam, in the normalised image's units
    map_weight: float = 1e11
    output_weight: float = 1e6
    beta: tuple[float, float] = (10.0, 100.0)
    eps: float | None = None
    masks: torch.Tensor | None = None

    def __post_init__(self):
        if self.method not in PAIR_METHODS:
            raise SaviourError(f"cannot attack {self.method!r} explanations (attackable: {', '.join(PAIR_METHODS)})")
        if self.method == "rise" and self.masks is None:
            raise SaviourError("a RISE attack needs fixed masks (masks=generate_masks(...))")
        if self.eps is not None and not 0 < self.eps <= 1:
            raise SaviourError(f"attack budget eps must be in (0, 1], the [0, 1] pixel scale, got {self.eps}")

    def explanation(self, model, x: torch.Tensor, target: int, beta: float | None = None,
                    graph: bool = False) -> torch.Tensor:
        """The normalised map (H x W, sums to 1) of image x (C x H x W in [0, 1]); differentiable in x
        when `graph`. beta: softplus_beta in place of the activations (None: the real network)."""
        if self.method == "rise":
            with torch.set_grad_enabled(graph):
                heat = rise(model, x, masks=self.masks, target=ClassProbability(target), estimator="paper")
            return heat / heat.sum()
        net = softplus_copy(model.net, beta) if beta is not None else model.net
        with torch.enable_grad():
            z = model.normalised(x[None] if graph else x[None].detach().requires_grad_(True))
            heat = self._attribution(net, z, target, graph).abs().sum(1)[0]
        heat = heat / heat.sum()
        return heat if graph else heat.detach()

    def _attribution(self, net, z: torch.Tensor, target: int, graph: bool) -> torch.Tensor:
        if self.method == "integrated_gradients":
            scales = torch.arange(1, IG_STEPS + 1, dtype=z.dtype, device=z.device) / IG_STEPS
            probabilities = net(scales.view(-1, 1, 1, 1) * z).softmax(1)[:, target]
            # their single backward pass: d/dz of sum_k p(k z / n) / k over n steps is the mean gradient
            score = (probabilities / scales).sum() / IG_STEPS
            gradient, = torch.autograd.grad(score, z, create_graph=graph)
            return gradient * z
        gradient, = torch.autograd.grad(net(z)[:, target].sum(), z, create_graph=graph)
        return gradient * z if self.method == "gradient_x_input" else gradient

    def __call__(self, model, x: torch.Tensor, target_map: torch.Tensor, progress=None) -> torch.Tensor:
        """The adversarial version of x (C x H x W in [0, 1]) whose map moves toward `target_map`."""
        x = x.detach()
        with torch.no_grad():
            clean = model(x[None]).softmax(1)
        label = int(clean.argmax())
        low, high = self._bounds(x)
        x_adv = x.clone().requires_grad_(True)
        # Adam on the normalised image, as theirs: a step in [0, 1] pixels is std times smaller
        optimiser = torch.optim.Adam([x_adv], lr=self.lr * float(model.std.mean()))
        for step in range(self.steps):
            beta = self.beta[0] * (self.beta[1] / self.beta[0]) ** (step / self.steps)
            heat = self.explanation(model, x_adv, label, beta, graph=True)
            output = model(x_adv[None]).softmax(1)
            loss = self.map_weight * F.mse_loss(heat, target_map) + self.output_weight * F.mse_loss(output, clean)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            with torch.no_grad():
                x_adv.copy_(torch.minimum(torch.maximum(x_adv, low), high))
            if progress is not None:
                progress.update(1)
        return x_adv.detach()

    def _bounds(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if self.eps is None:
            return torch.zeros_like(x), torch.ones_like(x)
        return (x - self.eps).clamp_min(0), (x + self.eps).clamp_max(1)
