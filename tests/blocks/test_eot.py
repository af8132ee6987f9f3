import numpy as np
import pytest
import torch

from blocks.eot import optimise_block
from blocks.transforms import Placement, paste_randomly, success_rate
from engine.detection.hunter import bgr_to_tensor
from engine.models import HUNTER_LABELS, load_classifier
from farm.patches import world_patches

STILL = Placement(size=(0.5, 0.5), rotation_degrees=0.0, brightness=(1.0, 1.0), noise=0.0)


def test_block_covers_its_share_of_the_window_with_its_own_pixels():
    windows = paste_randomly(torch.ones(1, 3, 25, 25), torch.zeros(64, 3, 25, 25), STILL,
                             torch.Generator().manual_seed(0))
    assert set(torch.unique(windows).tolist()) == {0.0, 1.0}            # nearest-neighbour: no blending
    coverage = windows[:, 0].mean(dim=(1, 2))
    assert coverage.mean().item() == pytest.approx(0.25, abs=0.03)      # half the side -> a quarter of the area


def test_gradients_reach_the_block():
    block = torch.full((1, 3, 25, 25), 0.5, requires_grad=True)
    windows = paste_randomly(block, torch.zeros(8, 3, 25, 25), Placement(), torch.Generator().manual_seed(1))
    windows.sum().backward()
    assert block.grad.abs().sum() > 0


@pytest.fixture(scope="module")
def hunter():
    model = load_classifier("hunter", device="cpu")
    for p in model.parameters():
        p.requires_grad_(False)
    return model


def chicken_windows(seeds, seed):
    patches, labels = world_patches(seeds, frames_per_world=6, seed=seed)
    return bgr_to_tensor(patches[labels == HUNTER_LABELS.index("chicken")], torch.device("cpu"))


def test_eot_camouflage_makes_unseen_chickens_terrain(hunter):
    train, unseen = chicken_windows(range(100, 104), 3), chicken_windows(range(3000, 3003), 4)
    terrain = HUNTER_LABELS.index("terrain")
    grey = torch.full((3, 25, 25), 50 / 255)   # occlusion alone: 0.36 measured
    assert success_rate(hunter, grey, unseen, terrain, Placement()) < 0.5
    block = optimise_block(hunter, terrain, train, steps=150)
    assert block.shape == (3, 25, 25) and 0 <= block.min() and block.max() <= 1
    assert success_rate(hunter, block, unseen, terrain, Placement()) >= 0.75   # 0.83 measured


def test_optimiser_is_seeded(hunter):
    backgrounds = torch.rand(16, 3, 25, 25, generator=torch.Generator().manual_seed(0))
    a = optimise_block(hunter, 2, backgrounds, steps=5, batch_size=8, seed=3)
    b = optimise_block(hunter, 2, backgrounds, steps=5, batch_size=8, seed=3)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
