import numpy as np
import pytest
import torch

from engine.models import Hunter
from engine.train import _remove_pixels, class_weights, fit

COUNTS = torch.tensor([37, 29, 24, 190])


@pytest.mark.parametrize("balance", [0.0, 0.5, 0.75, 1.0])
def test_class_weights_average_one_over_the_samples(balance):
    weight = class_weights(COUNTS, balance)
    assert (weight * COUNTS).sum() / COUNTS.sum() == pytest.approx(1.0)


def test_full_balance_gives_every_class_the_same_total_weight():
    totals = class_weights(COUNTS, 1.0) * COUNTS
    assert torch.allclose(totals, torch.full((4,), COUNTS.sum() / 4.0))
    counts = COUNTS.float()   # bit for bit the weights the shipped hunter was trained with, so it reproduces
    assert torch.equal(class_weights(COUNTS, 1.0), counts.sum() / counts / len(counts))


def test_zero_balance_weighs_every_sample_alike():
    assert torch.equal(class_weights(COUNTS, 0.0), torch.ones(4))


def test_partial_balance_keeps_the_order_of_the_weights():
    half = class_weights(COUNTS, 0.5)
    assert half.argmin() == 3 and half.argmax() == 2    # the commonest class counts least, the rarest most
    assert half.max() / half.min() < class_weights(COUNTS, 1.0).max() / class_weights(COUNTS, 1.0).min()


def test_weight_decay_shrinks_the_weights():
    rng = np.random.default_rng(0)
    patches, labels = rng.integers(0, 256, (64, 25, 25, 3), dtype=np.uint8), rng.integers(0, 4, 64)

    def trained(decay):
        torch.manual_seed(0)
        model = Hunter()
        fit(model, patches, labels, epochs=2, batch_size=32, seed=0, weight_decay=decay)
        return torch.cat([p.detach().flatten() for p in model.parameters()])

    assert trained(0.5).norm() < trained(0.0).norm()


def test_pixel_removal_greys_out_about_the_given_share_scattered_and_in_blobs():
    batch = torch.rand(200, 3, 96, 96, generator=torch.Generator().manual_seed(1)) * 0.4   # never 0.5 itself
    out = _remove_pixels(batch, 0.5, 0.5, torch.Generator().manual_seed(0))
    removed = (out == 0.5).all(dim=1)
    assert torch.equal(out[~removed[:, None].expand_as(out)], batch[~removed[:, None].expand_as(out)])
    share = removed.float().mean((1, 2))
    assert share.max() < 0.65 and 0.15 < share.mean() < 0.3   # shares drawn from 0 to 0.5; blobs take less
    # scattered removal leaves removed pixels mostly beside kept ones; blobs leave them beside removed ones
    alike = (removed[:, :, 1:] == removed[:, :, :-1]).float().mean((1, 2))
    some = share > 0.1
    assert alike[some].min() < 0.8 and alike[some].max() > 0.95
