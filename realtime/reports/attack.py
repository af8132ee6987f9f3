"""`saviour attack-explanation`: attack the maps of several images and report how far they moved.

Per image: SSIM / MSE / PSNR of original vs adversarial map, original vs target and adversarial vs
target, the L∞ distance actually used, and whether the predicted class changed. Two yardsticks: a
blank map vs the target (SSIM to a small blob is mostly the agreement of empty areas, so a map with
no heat at all scores well) and the share of each map's heat that lies on the target. For RISE also
the best SSIM to the target that its fixed masks allow at all (engine/explain/reach.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from engine.detection.hunter import bgr_to_tensor
from engine.explain import explain
from engine.explain.attack import ExplanationAttack
from engine.explain.metrics import compare_maps, heat_share
from engine.explain.reach import reachable_ssim
from engine.files import write_atomically
from engine.files import save_figure
from realtime.reports.explain import FIGURE_ROWS, Sample

PAIRS = (("original", "adversarial"), ("original", "target"), ("adversarial", "target"), ("blank", "target"))
PAIR_NAMES = {("blank", "target"): "a blank map (no heat) vs target"}
TARGET_REGION = 0.5   # the target's region: where it is at least this share of its peak


def attack_samples(model, samples: list[Sample], targets: list[torch.Tensor], attack: ExplanationAttack,
                   device: torch.device, progress=None) -> tuple[list[dict], list]:
    """Attack each sample's map toward its target; returns per-image rows and the figure's rows."""
    rows, shown = [], []
    settings = {"masks": attack.masks, "p1": attack.p1} if attack.method == "rise" else {}
    reachable = {}
    for sample, target_map in zip(samples, targets):
        x = bgr_to_tensor([sample.image], device)[0]
        with torch.no_grad():
            label = int(model(x[None]).argmax())
        adversarial = attack(model, x, target_map.to(device), progress=progress)
        with torch.no_grad():
            label_after = int(model(adversarial[None]).argmax())
        maps = {"original": explain(model, x, attack.method, target=label, **settings).cpu(),
                "adversarial": explain(model, adversarial, attack.method, target=label, **settings).cpu(),
                "target": target_map.cpu(), "blank": torch.zeros_like(target_map.cpu())}
        row = {"image": sample.name, "class": model.labels[label], "class_after": model.labels[label_after],
               "class_changed": label != label_after, "linf": float((adversarial - x).abs().max()) * 255}
        for a, b in PAIRS:
            row |= {f"{metric}_{a}_vs_{b}": value for metric, value in compare_maps(maps[a], maps[b]).items()}
        region = (maps["target"] >= TARGET_REGION * maps["target"].max()).numpy()
        row |= {"target_area": float(region.mean()),
                **{f"heat_on_target_{k}": heat_share(maps[k], region) for k in ("original", "adversarial")}}
        if attack.method == "rise":
            row["ssim_reachable"] = _reachable(reachable, attack.masks, target_map, progress)
        rows.append(row)
        if len(shown) < FIGURE_ROWS:
            adv_bgr = (adversarial.detach().cpu().permute(1, 2, 0).numpy()[..., ::-1] * 255).round().astype(np.uint8)
            shown.append((sample, adv_bgr, maps))
    return rows, shown


def _reachable(cache: dict, masks: torch.Tensor, target_map: torch.Tensor, progress=None) -> float:
    """reachable_ssim, searched once per distinct target (crops share the centre blob)."""
    key = target_map.cpu().numpy().tobytes()
    if key not in cache:
        if progress is not None:   # the search takes seconds, with no attack steps to count
            progress.set_postfix_str("searching the reachable SSIM")
        cache[key] = reachable_ssim(masks, target_map)
        if progress is not None:
            progress.set_postfix_str("")
    return cache[key]


def summary(rows: list[dict]) -> dict:
    """Means over images, plus how many changed class."""
    numeric = [k for k in rows[0] if isinstance(rows[0][k], float)]
    result = {k: float(np.mean([r[k] for r in rows])) for k in numeric}
    return result | {"images": len(rows), "class_changed": sum(r["class_changed"] for r in rows)}


def markdown_summary(result: dict) -> str:
    lines = ["| maps compared | SSIM | MSE | PSNR (dB) |", "|---|---|---|---|"]
    for a, b in PAIRS:
        name = PAIR_NAMES.get((a, b), f"{a} vs {b}")
        lines.append(f"| {name} | {result[f'ssim_{a}_vs_{b}']:.3f} | {result[f'mse_{a}_vs_{b}']:.4f} | "
                     f"{result[f'psnr_{a}_vs_{b}']:.2f} |")
    lines.append(f"\nshare of the map's heat on the target (where it is at least half its peak, "
                 f"{result['target_area']:.1%} of the image): original {result['heat_on_target_original']:.1%}, "
                 f"adversarial {result['heat_on_target_adversarial']:.1%}")
    if "ssim_reachable" in result:
        lines.append(f"\nbest SSIM to the target found for any scores of the masked images with these masks: "
                     f"{result['ssim_reachable']:.3f} (an estimate, see engine/explain/reach.py; more masks, --n, "
                     f"raise it)")
    lines.append(f"\npredicted class changed on {result['class_changed']} of {result['images']} images; "
                 f"mean L∞ {result['linf']:.2f}/255")
    return "\n".join(lines)


def write_attack_report(rows, shown, out_dir: Path, context: dict) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    result = summary(rows)
    _plot(shown, out_dir / "figure.png")   # first: the largest file, the likeliest to fail on a full disk
    write_atomically(out_dir / "report.json", json.dumps({"context": context, "summary": result, "images": rows}, indent=2))
    write_atomically(out_dir / "report.md", "# Explanation attack\n\n" + "\n".join(
        f"- {k}: {v}" for k, v in context.items()) + "\n\n" + markdown_summary(result) + "\n")
    return result


def _plot(shown, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = ["image", "adversarial image", "original map", "adversarial map", "target"]
    figure, axes = plt.subplots(len(shown), len(columns), figsize=(1.9 * len(columns), 1.9 * len(shown)),
                                squeeze=False)
    for r, (sample, adversarial, maps) in enumerate(shown):
        panels = [sample.image[..., ::-1], adversarial[..., ::-1],
                  *(maps[k].numpy() for k in ("original", "adversarial", "target"))]
        for c, panel in enumerate(panels):
            axes[r, c].imshow(panel, cmap=None if c < 2 else "jet")
            axes[r, c].set_xticks([])
            axes[r, c].set_yticks([])
            if r == 0:
                axes[r, c].set_title(columns[c], fontsize=8)
        axes[r, 0].set_ylabel(sample.name, fontsize=7)
    save_figure(figure, path)
