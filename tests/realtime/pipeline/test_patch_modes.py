"""The real-world modes: an ImageNet model's patch, its random-pixel control and a grey square, pasted
on what the class-evidence detector finds."""

import numpy as np
import pytest

from blocks.library import BlockLibrary
from engine.detection.evidence import EvidenceDetector
from engine.errors import SaviourError
from realtime.pipeline.defended import pipeline_for
from tests.blocks.test_patch import write_patch_library
from tests.engine.detection.test_evidence import LABELS, colour_classifier


@pytest.fixture(scope="module")
def patch_library(tmp_path_factory):
    folder = tmp_path_factory.mktemp("patches") / "lib"
    write_patch_library(folder, hunter_blocks=False)     # a plain mid-grey 32 x 32 patch
    return BlockLibrary.load(folder, LABELS + ("toaster",), 224, model="efficientnet_lite0")


def white_hen() -> np.ndarray:
    frame = np.full((224, 448, 3), 60, np.uint8)
    frame[48:112, 112:176] = 255
    return frame


@pytest.mark.parametrize("mode", ["patch", "random-patch", "occlusion"])
def test_each_cover_lands_on_the_detected_chicken_and_hides_it_from_this_detector(patch_library, mode):
    detector = EvidenceDetector(colour_classifier())
    result = pipeline_for(detector, patch_library, mode, fraction=1.0)(white_hen())
    assert result.before.names == ["chicken"] and len(result.after.of_class("chicken")) == 0
    changed = np.argwhere(np.any(result.defended != result.frame, axis=2))
    assert changed.min(0).tolist() == [48, 112] and changed.max(0).tolist() == [111, 175]   # the box, 64 px
    top = result.before.top_classes     # the whole frame: mostly ground
    assert top[0][0] == "ground" and {name for name, _ in top} <= set(LABELS) and top[0][1] >= top[1][1] >= top[2][1]
    assert result.before.evidence.shape == (3, 7, 14)


def test_a_library_without_a_patch_names_the_command_that_makes_one():
    with pytest.raises(SaviourError, match="the block library has no patch for this model; make one with "
                                           "`saviour blocks generate --model MODEL --purpose patch"):
        pipeline_for(EvidenceDetector(colour_classifier()), BlockLibrary([]), "patch")
