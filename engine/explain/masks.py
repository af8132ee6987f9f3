"""RISE masks (Petsiuk et al. 2018), generated for a whole batch at once."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from engine.choices import RISE_SAMPLERS
from engine.errors import SaviourError


def check_mask_settings(n: int, s: int, p1: float, size: tuple[int, int]) -> None:
    """Raise SaviourError naming the first setting that cannot make masks."""
    if n <= 0:
        raise SaviourError(f"RISE needs at least one mask, got N={n}")
    if not 0 < p1 < 1:
        raise SaviourError(f"RISE keep probability p1 must be in (0, 1), got {p1}")
    if s < 1 or s > min(size):
        raise SaviourError(f"RISE grid size s must be in [1, {min(size)}] for a {size[0]}x{size[1]} image, got {s}")


def generate_masks(n: int, s: int, p1: float, size: tuple[int, int], generator: torch.Generator | None = None,
                   device: str | torch.device | None = None, sampler: str = "random") -> torch.Tensor:
    """N x 1 x H x W soft masks: s x s binary grids kept with probability p1, upsampled bilinearly
    to (s+1)*cell with cell = ceil(H/s) (per axis), each cropped to H x W at a random shift in [0, cell).

    sampler: "random" draws each cell and shift independently (the paper); "sobol" takes them from a
    scrambled Sobol sequence (as Fel et al. 2021's Sobol attribution does), which spreads the kept
    cells and shifts more evenly over the masks than independent draws.

    The grids and shifts are drawn on the CPU (or the generator's device), so a seed gives the same
    masks on every device; the upsampling runs on `device`.
    """
    h, w = size
    check_mask_settings(n, s, p1, size)
    gen_device = generator.device if generator is not None else torch.device("cpu")
    device = torch.device(device) if device is not None else gen_device
    cell_h, cell_w = math.ceil(h / s), math.ceil(w / s)
    grids, shift_y, shift_x = _draw(n, s, p1, (cell_h, cell_w), sampler, generator, gen_device)
    grids, shift_y, shift_x = grids.to(device), shift_y.to(device), shift_x.to(device)
    # bilinear upsampling is separable: up = Ry @ grid @ Rx^T; a shifted crop keeps rows of Ry and Rx
    rows = _upsampling_matrix(s, (s + 1) * cell_h, device)[shift_y[:, None] + torch.arange(h, device=device)]
    cols = _upsampling_matrix(s, (s + 1) * cell_w, device)[shift_x[:, None] + torch.arange(w, device=device)]
    return torch.bmm(torch.bmm(rows, grids), cols.transpose(1, 2)).unsqueeze(1)


def _draw(n: int, s: int, p1: float, cell: tuple[int, int], sampler: str, generator, device):
    """The masks' s x s binary grids (n x s x s) and their shifts (n each, in [0, cell))."""
    if sampler == "random":
        grids = (torch.rand(n, s, s, generator=generator, device=device) < p1).float()
        return (grids, torch.randint(0, cell[0], (n,), generator=generator, device=device),
                torch.randint(0, cell[1], (n,), generator=generator, device=device))
    if sampler == "sobol":
        seed = int(torch.randint(2 ** 31, (1,), generator=generator, device=device))
        points = torch.quasirandom.SobolEngine(s * s + 2, scramble=True, seed=seed).draw(n).to(device)
        grids = (points[:, :s * s] < p1).float().reshape(n, s, s)
        return grids, *((points[:, s * s + i] * cell[i]).long().clamp_max(cell[i] - 1) for i in (0, 1))
    raise SaviourError(f"unknown RISE mask sampler {sampler!r} (known: {', '.join(RISE_SAMPLERS)})")


def _upsampling_matrix(s: int, length: int, device) -> torch.Tensor:
    """length x s matrix: column j is F.interpolate's bilinear (align_corners=False) image of the j-th unit vector."""
    eye = torch.eye(s, device=device).unsqueeze(0)
    return F.interpolate(eye, size=length, mode="linear", align_corners=False)[0].T
