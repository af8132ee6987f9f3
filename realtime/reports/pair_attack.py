"""`saviour attack-explanation --images DIR`: Dombrowski et al.'s attack over pairs of photos, reported
as medians and quartiles per method and bound.

Per pair: SSIM, Pearson correlation and MSE of the adversarial map with the target map (the other
photo's) and with the original map, the original-to-target values as the yardstick, whether the
top-1 class held, and how much the photo changed (L-infinity in 0-255 levels, PSNR in dB).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from engine.explain.metrics import compare_maps, pearson
from engine.explain.pair_attack import PairAttack
from engine.files import save_figure, write_atomically

FIGURE_PAIRS = 3
COMPARED = (("adversarial", "target"), ("adversarial", "original"), ("original", "target"))
REPORTED = ("pearson", "ssim", "mse")


@dataclass
class Photo:
    name: str
    image: torch.Tensor      # C x H x W in [0, 1]


def attack_pair(model, attack: PairAttack, photo: Photo, other: Photo, progress=None) -> tuple[dict, dict]:
    """Attack `photo`'s map toward `other`'s; the row of measurements and the maps and images."""
    with torch.no_grad():
        label, other_label = (int(model(p.image[None]).argmax()) for p in (photo, other))
    maps = {"target": attack.explanation(model, other.image, other_label),
            "original": attack.explanation(model, photo.image, label)}
    adversarial = attack(model, photo.image, maps["target"], progress)
    maps["adversarial"] = attack.explanation(model, adversarial, label)
    with torch.no_grad():
        held = int(model(adversarial[None]).argmax()) == label
    change = (adversarial - photo.image).double()
    row = {"photo": photo.name, "target_photo": other.name, "class": model.labels[label], "class_held": held,
           "linf": float(change.abs().max()) * 255,
           "psnr": float(10 * torch.log10(1 / change.pow(2).mean().clamp_min(1e-20)))}
    for a, b in COMPARED:
        compared = compare_maps(maps[a], maps[b])
        row |= {f"pearson_{a}_vs_{b}": pearson(maps[a], maps[b]), f"ssim_{a}_vs_{b}": compared["ssim"],
                f"mse_{a}_vs_{b}": float(((maps[a] - maps[b]) ** 2).mean())}
    return row, {"adversarial_image": adversarial, **maps}


def quartiles(values) -> dict:
    q1, median, q3 = np.percentile(np.asarray(values, float), [25, 50, 75])
    return {"median": float(median), "q1": float(q1), "q3": float(q3)}


def summary(rows: list[dict]) -> dict:
    """Per variant (method and bound): quartiles of every measurement and the share of pairs whose class held."""
    result = {}
    for variant in dict.fromkeys(r["variant"] for r in rows):
        mine = [r for r in rows if r["variant"] == variant]
        numeric = [k for k, v in mine[0].items() if isinstance(v, float)]
        result[variant] = {k: quartiles([r[k] for r in mine]) for k in numeric}
        result[variant] |= {"pairs": len(mine), "class_held": sum(r["class_held"] for r in mine) / len(mine)}
    return result


def markdown_table(result: dict) -> str:
    """Medians [quartiles] per variant."""
    columns = [f"{m}_{a}_vs_{b}" for m in REPORTED for a, b in COMPARED] + ["linf", "psnr"]
    lines = ["| variant | pairs | class held | " + " | ".join(c.replace("_", " ") for c in columns) + " |",
             "|---" * (len(columns) + 3) + "|"]
    for variant, stats in result.items():
        cells = [f"{stats[c]['median']:.3g} [{stats[c]['q1']:.3g}, {stats[c]['q3']:.3g}]" for c in columns]
        lines.append(f"| {variant} | {stats['pairs']} | {stats['class_held']:.0%} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_pair_report(rows: list[dict], shown: list, out_dir: Path, context: dict) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    result = summary(rows)
    plot_pairs(shown, out_dir / "figure.png")   # first: the largest file, the likeliest to fail on a full disk
    write_atomically(out_dir / "report.json", json.dumps({"context": context, "summary": result, "pairs": rows},
                                                         indent=2))
    write_atomically(out_dir / "report.md", "# Explanation attack on pairs of photos\n\n" + "\n".join(
        f"- {k}: {v}" for k, v in context.items()) + "\n\nMedians [first, third quartile].\n\n"
        + markdown_table(result) + "\n")
    return result


def plot_pairs(shown: list, path: Path) -> None:
    """Per shown pair: the photo, the target photo, the adversarial photo, and the three maps."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ["photo", "target photo", "adversarial photo", "original map", "target map", "adversarial map"]
    figure, axes = plt.subplots(len(shown), len(columns), figsize=(1.9 * len(columns), 1.9 * len(shown)),
                                squeeze=False)
    for r, (variant, photo, other, result) in enumerate(shown):
        panels = [photo.image, other.image, result["adversarial_image"],
                  result["original"], result["target"], result["adversarial"]]
        for c, panel in enumerate(panels):
            picture = panel.permute(1, 2, 0).clamp(0, 1).numpy() if c < 3 else panel.numpy()
            axes[r, c].imshow(picture, cmap=None if c < 3 else "jet")
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(columns[c], fontsize=8)
        axes[r, 0].set_ylabel(f"{variant}\n{photo.name}", fontsize=6)
    save_figure(figure, path)
