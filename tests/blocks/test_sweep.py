import numpy as np
import pytest
import torch
from torch import nn

from blocks.sweep import fgsm_step, plot_sweep, sweep_block
from engine.errors import SaviourError


class Brightness(nn.Module):
    """Logits (mean, -mean) of the image: class "bright" grows with every pixel."""

    labels = ("bright", "dark")
    input_size = 4

    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(10.0))

    def forward(self, x):
        mean = x.mean(dim=(1, 2, 3)) * self.scale
        return torch.stack([mean, -mean], 1)


def test_negative_eps_moves_every_pixel_toward_the_target_by_eps():
    sweep = sweep_block(Brightness(), "bright", lower=-0.2, steps=4, start=0.5)
    np.testing.assert_allclose(sweep.eps, [-0.2, -0.15, -0.1, -0.05])
    # toward "bright" the loss falls as pixels rise: each step adds |eps|; the largest step wins
    assert sweep.best_eps == pytest.approx(-0.2)
    torch.testing.assert_close(sweep.block, torch.full((3, 4, 4), 0.7))
    assert np.all(np.diff(sweep.probabilities[:, 0]) < 0)


def test_steps_are_clamped_to_the_pixel_range():
    stepped = fgsm_step(Brightness(), torch.full((1, 3, 4, 4), 0.9), 0, torch.tensor([-0.5]))
    assert stepped.max() == 1.0


def test_batched_sweep_matches_one_step_at_a_time(random_hunter):
    sweep = sweep_block(random_hunter, "panda", lower=-0.3, steps=8)
    start = torch.full((1, 3, 25, 25), 50 / 255)
    for eps, row in zip(sweep.eps, sweep.probabilities):
        alone = random_hunter(fgsm_step(random_hunter, start, 2, float(eps))).softmax(1)[0]
        np.testing.assert_allclose(row, alone.detach().numpy(), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("kwargs, message", [
    ({"target": "cow"}, "unknown target class 'cow'"),
    ({"target": "panda", "lower": 0.1}, "eps"),
    ({"target": "panda", "lower": -2}, "eps"),
    ({"target": "panda", "steps": 1}, "steps"),
])
def test_bad_settings(random_hunter, kwargs, message):
    with pytest.raises(SaviourError, match=message):
        sweep_block(random_hunter, **kwargs)


def test_plot_is_written(tmp_path, random_hunter):
    sweep = sweep_block(random_hunter, "terrain", steps=8)
    plot_sweep(sweep, random_hunter.labels, tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").read_bytes()[:4] == b"\x89PNG"
