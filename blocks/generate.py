"""Making one block for a purpose, by the notebook's sweep or by the EOT optimiser, and measuring it."""

from __future__ import annotations

from dataclasses import asdict

import torch

from blocks.choices import LARGE_BLOCKS, METHODS, PURPOSES
from blocks.eot import optimise_block
from blocks.library import Block, plain_params
from blocks.scenes import Scenes, scene_success_rate
from blocks.sweep import plot_sweep, sweep_block
from blocks.transforms import Placement, success_rate
from engine.errors import SaviourError

DEFAULT_TARGET = {"camouflage": "terrain", "ghost-chicken": "chicken", "panda-decoy": "panda"}


def check_target(purpose: str, target: str, labels) -> None:
    """Camouflage must turn a chicken into something else; decoys must be seen as their animal."""
    if target not in labels:
        raise SaviourError(f"unknown target class {target!r} (known: {', '.join(labels)})")
    if purpose == "camouflage" and "chicken" not in labels:
        raise SaviourError(f"a camouflage block hides chickens, and this hunter has no chicken class ({', '.join(labels)})")
    if purpose == "camouflage" and target == "chicken":
        raise SaviourError("a camouflage block must target another class than chicken (terrain or pig)")
    if purpose != "camouflage" and target != DEFAULT_TARGET[purpose]:
        raise SaviourError(f"a {purpose} block targets {DEFAULT_TARGET[purpose]}, not {target}")


def generate_block(model, purpose: str, target: str, method: str, backgrounds: torch.Tensor,
                   held_out: torch.Tensor, hunter_sha256: str, eps: float = -0.25, steps: int = 300,
                   seed: int = 0, plot_path=None, progress=None, scenes: tuple[Scenes, Scenes] | None = None,
                   scene_steps: int = 0, fractions: tuple[float, float] = LARGE_BLOCKS, border: int = 0) -> Block:
    """Make one block and measure it on held-out background windows.

    `backgrounds` are the windows the EOT optimiser trains on, `held_out` those the success rate is
    measured on (both of the class PURPOSES[purpose]). A camouflage block made by EOT is refined for
    `scene_steps` on the first of `scenes` (training, held-out), pasted at sides `fractions` of the
    detected boxes', and its success in the second, pasted at the middle of that range, is recorded.
    An EOT block keeps `border` pixels along its edges at the start grey.
    """
    if purpose not in PURPOSES:
        raise SaviourError(f"unknown purpose {purpose!r} (known: {', '.join(PURPOSES)})")
    if method not in METHODS:
        raise SaviourError(f"unknown method {method!r} (known: {', '.join(METHODS)})")
    check_target(purpose, target, model.labels)
    index = model.labels.index(target)
    if method == "sweep":
        sweep = sweep_block(model, target, lower=eps, steps=steps)
        pixels, params = sweep.block, {"eps_lower": eps, "steps": steps, "best_eps": round(sweep.best_eps, 6)}
        if plot_path is not None:
            plot_sweep(sweep, model.labels, plot_path)
    else:
        in_scenes = scenes is not None and purpose == "camouflage" and scene_steps > 0
        pixels = optimise_block(model, index, backgrounds, steps=steps, seed=seed, progress=progress,
                                scenes=scenes[0] if in_scenes else None, scene_steps=scene_steps, fractions=fractions,
                                border=border)
        params = {"steps": steps, "seed": seed, "placement": asdict(Placement())}
        if border:
            params["border"] = border
        if in_scenes:
            params |= {"scene_steps": scene_steps, "scene_fractions": list(fractions), "scenes": len(scenes[0]),
                       "measured_at_fraction": measured_at(fractions)}
    pixels = (pixels * 255).round() / 255   # measure exactly what the PNG will hold
    with torch.no_grad():
        clean = float(model(pixels[None]).softmax(dim=1)[0, index])
    rate = success_rate(model, pixels, held_out, index, Placement(), seed=seed)
    in_pipeline = None
    if scenes is not None and purpose == "camouflage":
        held_out_scenes = scenes[1].to(pixels.device)
        in_pipeline = round(scene_success_rate(model, pixels, held_out_scenes, model.labels.index("chicken"),
                                               measured_at(fractions)), 4)
    sizes = f"-{fractions[0]:g}-{fractions[1]:g}" if "scene_fractions" in params else ""
    name = f"{purpose}-{target}-{method}{sizes}"
    return Block(f"{name}.png", purpose, target, method, plain_params(params), hunter_sha256,
                 round(clean, 4), round(rate, 4), pixels, in_pipeline)


def measured_at(fractions: tuple[float, float]) -> float:
    """The block side a camouflage block's held-out success is measured at: the middle of its range."""
    return round((fractions[0] + fractions[1]) / 2, 6)

