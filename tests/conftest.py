import numpy as np
import pytest
import torch

from engine.models import Hunter


@pytest.fixture
def random_hunter():
    torch.manual_seed(0)
    return Hunter().eval()


@pytest.fixture
def rng():
    return np.random.default_rng(0)
