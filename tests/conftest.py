import shutil

import numpy as np
import pytest
import torch
import yaml

from blocks.choices import DEFAULT_LIBRARY
from engine.models import Hunter


@pytest.fixture
def random_hunter():
    torch.manual_seed(0)
    return Hunter().eval()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def library_without_camouflage(tmp_path):
    """A copy of the shipped block library with its camouflage blocks left out of the manifest."""
    library = tmp_path / "no_camouflage"
    shutil.copytree(DEFAULT_LIBRARY, library)
    manifest = yaml.safe_load((library / "manifest.yaml").read_text())
    manifest["blocks"] = [b for b in manifest["blocks"] if b["purpose"] != "camouflage"]
    (library / "manifest.yaml").write_text(yaml.safe_dump(manifest))
    return library
