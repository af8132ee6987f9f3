"""Making a patch block for an ImageNet classifier and measuring it as Brown et al. report it.

Photos of a folder are split by name: every HELD_OUT-th is held out, the rest train the patch. On the
held-out photos, success (top-1 is the target; untargeted: top-1 is no protected class) is measured
at each share of the image area in PATCH_AREAS, beside two controls of the same size: a patch of
random pixels and a plain grey square.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch

from blocks.choices import PATCH, PATCH_AREAS
from blocks.library import Block, plain_params
from blocks.patch import PatchPlacement, optimise_patch, patch_success
from engine.files import save_figure

HELD_OUT = 5                   # every 5th photo by name is held out
GREY = 0.5
REPORTED_AREA = 0.1            # the block's success_rate: at a tenth of the image
PATCH_BATCH, PATCH_LR = 16, 0.2   # lr 0.2 on the patch's logits beat 0.05 and 0.5 (300 steps: 53% at 10%, 30%, 30%)


@dataclass
class PatchReport:
    """Success against the patch's share of the image, for the patch and its two controls."""

    areas: tuple[float, ...]
    patch: list[float]
    random: list[float]
    grey: list[float]
    images: int

    def table(self) -> str:
        lines = [f"{'area':>6}{'patch':>9}{'random pixels':>15}{'grey square':>13}"]
        for area, *rates in zip(self.areas, self.patch, self.random, self.grey):
            lines.append(f"{area:>6.0%}" + "".join(f"{r:>{w}.1%}" for r, w in zip(rates, (9, 15, 13))))
        return "\n".join(lines)


def held_out_mask(count: int) -> torch.Tensor:
    return torch.arange(count) % HELD_OUT == 0


def measure_patch(model, images: torch.Tensor, patch: torch.Tensor, target: int | None, protected: list[int],
                  areas=PATCH_AREAS, seed: int = 1) -> PatchReport:
    """The report on `images` (held-out, N x 3 x S x S): each image's own class is the model's clean
    top-1, so images the model already reads as the target do not count."""
    with torch.no_grad():
        labels = torch.cat([model(images[i:i + 50]).argmax(1) for i in range(0, len(images), 50)])
    generator = torch.Generator().manual_seed(seed)
    controls = {"random": torch.rand(patch.shape, generator=generator), "grey": torch.full_like(patch, GREY)}
    rates = {name: [patch_success(model, images, labels, pixels, area, target, protected, seed=seed)
                    for area in areas] for name, pixels in {"patch": patch, **controls}.items()}
    return PatchReport(tuple(areas), rates["patch"], rates["random"], rates["grey"], len(images))


def make_patch(model, model_name: str, weights_sha256: str, images: torch.Tensor, target: int | None,
               protected: list[int], steps: int, seed: int = 0, progress=None,
               placement: PatchPlacement = PatchPlacement()) -> tuple[Block, PatchReport]:
    """Train a patch on the photos not held out and measure it on those held out."""
    held = held_out_mask(len(images))
    patch = optimise_patch(model, images[~held], target, protected, steps=steps, batch_size=PATCH_BATCH, lr=PATCH_LR,
                           seed=seed, progress=progress, placement=placement)
    report = measure_patch(model, images[held], patch, target, protected)
    with torch.no_grad():
        clean = torch.cat([model(images[held][i:i + 50]).softmax(1) for i in range(0, int(held.sum()), 50)])
    target_name = model.labels[target] if target is not None else "untargeted"
    params = {"steps": steps, "batch_size": PATCH_BATCH, "lr": PATCH_LR, "seed": seed, "side": patch.shape[-1],
              "placement": asdict(placement),
              "train_images": int((~held).sum()), "held_out_images": int(held.sum()),
              "held_out": f"every {HELD_OUT}th image by name, from the first"}
    clean_p = float(clean[:, target].mean()) if target is not None else float(clean[:, protected].sum(1).mean())
    block = Block(f"{PATCH}-{target_name.replace(' ', '_')}-{model_name.replace(':', '-')}.png", PATCH, target_name,
                  "eot", plain_params(params), weights_sha256, round(clean_p, 4),
                  round(report.patch[report.areas.index(REPORTED_AREA)], 4), patch,
                  model=model_name, success_by_area={a: round(r, 4) for a, r in zip(report.areas, report.patch)})
    return block, report


def plot_report(report: PatchReport, title: str, path) -> None:
    """Success against the patch's area, the patch and its controls, as Brown et al.'s figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(5, 3.5))
    areas = [100 * a for a in report.areas]
    for rates, name, style in ((report.patch, "adversarial patch", "o-"), (report.random, "random pixels", "s--"),
                               (report.grey, "grey square", "^:")):
        axes.plot(areas, [100 * r for r in rates], style, label=name)
    axes.set_xlabel("patch area, % of the image")
    axes.set_ylabel("success, % of held-out images")
    axes.set_ylim(-2, 102)
    axes.set_title(title, fontsize=9)
    axes.legend(fontsize=8)
    save_figure(figure, path, dpi=120)

