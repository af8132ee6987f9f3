"""The RISE quality bench: its curve's maps are `rise`'s maps, and the notebook's pipeline masks as ours does."""

import numpy as np
import torch

from engine.explain import generate_masks, rise
from engine.explain.metrics import pearson
from realtime.bench import rise_quality
from realtime.bench.explain import notebook_rise
from tests.engine.explain.test_rise import image, tiny_classifier


def test_a_prefix_of_the_bank_gives_rises_map_of_those_masks():
    model, x = tiny_classifier(), image((32, 32))
    masks = generate_masks(200, 8, 0.5, (32, 32), generator=torch.Generator().manual_seed(0), sampler="sobol")
    probabilities = rise_quality.scores(model, x, masks, target=1)
    for estimator in ("centred", "paper"):
        expected = rise(model, x, masks=masks[:64], target=1, estimator=estimator)
        torch.testing.assert_close(rise_quality.prefix_map(probabilities, masks, 64, estimator), expected,
                                   rtol=1e-4, atol=1e-6)


def test_the_chunked_reference_is_the_centred_map_of_its_masks():
    model, x = tiny_classifier(), image((32, 32))
    reference, reliability = rise_quality.reference_map(model, x, 2, n=300, seed=3, chunk=300)
    generator = torch.Generator().manual_seed(3)
    masks = torch.cat([generate_masks(150, 8, 0.5, (32, 32), generator=generator) for _ in range(2)])
    torch.testing.assert_close(reference, rise(model, x, masks=masks, target=2), rtol=1e-4, atol=1e-6)
    assert 0 <= reliability <= 1


class LeftOrRight(torch.nn.Module):
    """Class 0: how far the left half is from mid-grey; class 1: the right half's."""

    neutral_input = 0.5

    def forward(self, x):
        return torch.stack([(x[..., :16] - 0.5).abs().mean((1, 2, 3)), (x[..., 16:] - 0.5).abs().mean((1, 2, 3))], 1) * 20


def test_the_notebook_pipeline_gives_our_map_when_it_masks_to_our_baseline():
    model, x = LeftOrRight(), image((32, 32))
    ours = rise(model, x, n=3000, target=0, estimator="paper", generator=torch.Generator().manual_seed(1))
    notebook = notebook_rise(model, x.permute(1, 2, 0).numpy(), 3000, 8, 0.5, np.random.default_rng(1), baseline=0.5)
    black = notebook_rise(model, x.permute(1, 2, 0).numpy(), 3000, 8, 0.5, np.random.default_rng(1))
    assert pearson(torch.from_numpy(notebook[0]), ours) > 0.9
    assert pearson(torch.from_numpy(black[0]), ours) < 0.5     # the notebook's own zeros differ


def test_the_passes_to_match_are_the_first_count_at_the_notebooks_quality():
    curves = rise_quality.QualityCurves(ours={("centred", "random"): [[0.5, 0.7, 0.8, 0.9, 0.95, 0.97]],
                                              ("paper", "random"): [[0.1] * 6]}, notebook=[0.85])
    assert curves.passes_to_match(("centred", "random")) == rise_quality.COUNTS[3]
    assert curves.passes_to_match(("paper", "random")) is None
