"""`saviour explain`: explain images with every method, score the maps and write a table and a figure.

Scores per method: pointing game (when the object's box is known), deletion and insertion AUC for the
explained class, and SSIM / MSE / PSNR against the RISE map. Two random maps are the baselines: pixel
noise, and a smooth one (a random 8 x 8 grid upsampled, as coarse as a RISE map). Deleting pixels in
a noise order scatters grey specks that no training image had, which lowers a model's score faster
than removing one region does; the smooth baseline removes regions as RISE's order does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from engine.detection.hunter import bgr_to_tensor
from engine.explain import explain
from engine.explain.metrics import compare_maps, deletion_auc, insertion_auc, pointing_hit
from engine.explain.rise import DEFAULT_BATCH
from engine.files import save_figure, write_atomically

RANDOM, RANDOM_SMOOTH = "random", "random-smooth"
FIGURE_ROWS = 6


@dataclass
class Sample:
    """One image to explain: BGR uint8, the class to explain, the object's box if known, a name."""

    image: np.ndarray
    target: int
    box: np.ndarray | None = None
    name: str = ""


@dataclass
class ExplanationReport:
    methods: list[str]
    scores: dict = field(default_factory=dict)        # method -> metric -> list of per-image values
    shown: list = field(default_factory=list)         # (sample, {method: map}) for the figure

    def add(self, method: str, metric: str, value: float) -> None:
        self.scores.setdefault(method, {}).setdefault(metric, []).append(value)

    def table(self) -> dict:
        """Per method, the mean of every metric and how many images it covers."""
        return {method: {metric: float(np.mean(values)) for metric, values in metrics.items()}
                | {"images": max(len(v) for v in metrics.values())}
                for method, metrics in self.scores.items()}


def explain_samples(model, samples: list[Sample], methods: list[str], settings: dict, device: torch.device,
                    seed: int = 0, progress=None, curve_steps: int | None = None) -> ExplanationReport:
    """Explain every sample with every method and score the maps; settings go to `explain`.
    Deletion and insertion curves take `curve_steps` steps (default: one per image row)."""
    report = ExplanationReport(methods)
    rng = torch.Generator().manual_seed(seed)
    for sample in samples:
        x = bgr_to_tensor([sample.image], device)[0]
        maps = {method: explain(model, x, method, target=sample.target, generator=rng, **settings).cpu()
                for method in methods}
        maps[RANDOM] = torch.rand(x.shape[-2:], generator=rng)
        maps[RANDOM_SMOOTH] = F.interpolate(torch.rand(1, 1, 8, 8, generator=rng), size=tuple(x.shape[-2:]),
                                            mode="bilinear", align_corners=False)[0, 0]
        pixels = x.shape[-2] * x.shape[-1]
        step = None if curve_steps is None else -(-pixels // curve_steps)
        curve = {"step": step, "batch_size": settings.get("batch_size", DEFAULT_BATCH)}
        for method, saliency in maps.items():
            _score(report, model, x, sample, method, saliency, maps.get("rise"), curve)
        if len(report.shown) < FIGURE_ROWS:
            report.shown.append((sample, maps))
        if progress is not None:
            progress.update(1)
    return report


def _score(report, model, x, sample, method, saliency, rise_map, curve: dict) -> None:
    if sample.box is not None:
        report.add(method, "pointing", float(pointing_hit(saliency, sample.box)))
    report.add(method, "deletion", deletion_auc(model, x, saliency, sample.target, **curve))
    report.add(method, "insertion", insertion_auc(model, x, saliency, sample.target, **curve))
    if rise_map is not None and method != "rise":
        for metric, value in compare_maps(rise_map, saliency).items():
            report.add(method, f"{metric}_vs_rise", value)


COLUMN_NOTES = """\
- pointing: share of maps whose maximum lies within 15 px of the object's box (higher is better)
- deletion: AUC of the class probability as pixels are removed, most salient first (lower is better)
- insertion: AUC as pixels are added to a blurred image, most salient first (higher is better)
- ssim / mse / psnr_vs_rise: how alike the method's map and the RISE map are
- random, random-smooth: maps of noise and of a smooth random field, the baselines to beat
"""


def markdown_table(table: dict) -> str:
    columns = ["pointing", "deletion", "insertion", "ssim_vs_rise", "mse_vs_rise", "psnr_vs_rise", "images"]
    columns = [c for c in columns if any(c in row for row in table.values())]
    lines = ["| method | " + " | ".join(columns) + " |", "|---" * (len(columns) + 1) + "|"]
    for method, row in table.items():
        cells = [f"{row[c]:.3f}" if c in row and c != "images" else str(row.get(c, "")) for c in columns]
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_report(report: ExplanationReport, labels, out_dir: Path, context: dict) -> dict:
    """report.json, report.md and figure.png in `out_dir`; returns the table."""
    out_dir.mkdir(parents=True, exist_ok=True)
    table = report.table()
    plot_maps(report, labels, out_dir / "figure.png")   # first: the largest file, the likeliest to fail on a full disk
    write_atomically(out_dir / "report.json", json.dumps({"context": context, "table": table}, indent=2))
    write_atomically(out_dir / "report.md", "# Explanation report\n\n" + "\n".join(
        f"- {k}: {v}" for k, v in context.items()) + "\n\n" + markdown_table(table) + "\n\n" + COLUMN_NOTES)
    return table


def plot_maps(report: ExplanationReport, labels, path: Path) -> None:
    """Rows of images; per row the image and each method's map over it, the object's box in white."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ["image", *report.methods]
    rows = report.shown
    figure, axes = plt.subplots(len(rows), len(columns), figsize=(1.9 * len(columns), 1.9 * len(rows)),
                                squeeze=False)
    for r, (sample, maps) in enumerate(rows):
        rgb = sample.image[..., ::-1]
        for c, column in enumerate(columns):
            ax = axes[r, c]
            ax.imshow(rgb)
            if column != "image":
                ax.imshow(maps[column].numpy(), cmap="jet", alpha=0.5)
            if sample.box is not None:
                x0, y0, x1, y1 = sample.box
                ax.add_patch(plt.Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, color="white", linewidth=1))
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(column, fontsize=8)
        axes[r, 0].set_ylabel(f"{sample.name}\n{labels[sample.target]}", fontsize=7)
    save_figure(figure, path)
