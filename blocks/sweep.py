"""The source notebook's block method: one targeted FGSM step from a dark grey block, best eps by sweep.

FGSM moves x by eps * sign(grad_x loss(x, target)); a negative eps descends the target's loss, i.e.
moves the block toward the target class. The target probability against eps is bell-shaped, so the
notebook swept eps over [lower, 0) and kept the maximum. All eps share the same start and therefore
the same gradient, so the whole sweep is one backward pass and one batched forward pass.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from engine.errors import SaviourError
from engine.files import save_figure

GREY = 50 / 255   # the notebook's dark grey start block


@dataclass(frozen=True)
class Sweep:
    """A finished sweep: eps values, every class's probability at each, and the best block.

    Attributes:
        eps: E eps values in the [0, 1] pixel scale, ascending, all negative.
        probabilities: E x C class probabilities of the stepped block.
        target: index of the target class.
        block: the best block, 3 x S x S RGB in [0, 1].
    """

    eps: np.ndarray
    probabilities: np.ndarray
    target: int
    block: torch.Tensor

    @property
    def best(self) -> int:
        return int(np.argmax(self.probabilities[:, self.target]))

    @property
    def best_eps(self) -> float:
        return float(self.eps[self.best])

    @property
    def best_probability(self) -> float:
        return float(self.probabilities[self.best, self.target])


def fgsm_step(model, x: torch.Tensor, target: int, eps) -> torch.Tensor:
    """x + eps * sign(grad of the cross-entropy toward `target`), clamped to [0, 1].

    `eps` is a number or a tensor of E values; with E values, x (1 x 3 x S x S) gives E stepped images.
    """
    x = x.detach().clone().requires_grad_(True)
    loss = F.cross_entropy(model(x), torch.full((len(x),), target, device=x.device))
    (gradient,) = torch.autograd.grad(loss, x)
    eps = torch.as_tensor(eps, dtype=x.dtype, device=x.device).reshape(-1, 1, 1, 1)
    return (x.detach() + eps * gradient.sign()).clamp(0, 1)


def sweep_block(model, target: str, lower: float = -0.25, steps: int = 64, start: float = GREY) -> Sweep:
    """Sweep eps over [lower, 0) for a one-step FGSM block toward `target` and keep the best.

    Args:
        model: a patch classifier with `labels` and `input_size` (the hunter).
        target: class name the block should be seen as.
        lower: most negative eps, in (-1, 0), in the [0, 1] pixel scale.
        steps: number of eps values evaluated (in one batch).
        start: grey level of the start block, in [0, 1].
    """
    if target not in model.labels:
        raise SaviourError(f"unknown target class {target!r} (known: {', '.join(model.labels)})")
    if not -1 <= lower < 0:
        raise SaviourError(f"--eps lower bound must be in [-1, 0), got {lower}")
    if steps < 2:
        raise SaviourError(f"--steps must be at least 2, got {steps}")
    device = next(model.parameters()).device
    size = model.input_size
    x = torch.full((1, 3, size, size), start, device=device)
    index = model.labels.index(target)
    eps = torch.linspace(lower, 0, steps + 1, device=device)[:-1]
    blocks = fgsm_step(model, x, index, eps)
    with torch.no_grad():
        probabilities = model(blocks).softmax(dim=1).cpu().numpy()
    best = int(np.argmax(probabilities[:, index]))
    return Sweep(eps.cpu().numpy(), probabilities, index, blocks[best].cpu())


def plot_sweep(sweep: Sweep, labels, path) -> None:
    """Save the notebook-style figure: every class's probability against eps, best eps marked."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 3.5))
    for c, name in enumerate(labels):
        style = {"linewidth": 2.5} if c == sweep.target else {"linewidth": 1, "alpha": 0.7}
        axes.plot(sweep.eps, sweep.probabilities[:, c], label=name, **style)
    axes.axvline(sweep.best_eps, color="black", linestyle=":", linewidth=1)
    axes.set_xlabel("eps (pixel scale [0, 1])")
    axes.set_ylabel("probability")
    axes.set_title(f"one-step FGSM toward {labels[sweep.target]}: best eps {sweep.best_eps:.4f}, "
                   f"p = {sweep.best_probability:.3f}", fontsize=9)
    axes.legend(fontsize=8)
    save_figure(figure, path, dpi=120)
