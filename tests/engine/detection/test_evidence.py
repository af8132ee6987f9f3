"""The real-world detector: boxes from a pooled-linear classifier's class-evidence map."""

import numpy as np
import pytest
import torch
from torch import nn

from engine.detection.evidence import EvidenceDetector
from engine.errors import SaviourError
from engine.models.imagenet import ImageNetClassifier

LABELS = ("ground", "hen", "cock", "hog", "wild boar", "warthog", "giant panda")


def colour_classifier() -> ImageNetClassifier:
    """Features: the mean colour of 32 x 32 cells, position i over pixels 32 i - 16 to 32 i + 16 as in
    a convolutional network; head: white is a hen, red a hog, the rest ground."""
    features = nn.Sequential(nn.ZeroPad2d((16, 0, 16, 0)), nn.AvgPool2d(32))
    head = nn.Linear(3, len(LABELS))
    with torch.no_grad():   # inputs normalised to [-1, 1]
        head.weight.copy_(torch.tensor([[0.0, 0, 0], [10, 10, 10], [0, 0, 0], [10, -10, -10], [0, 0, 0], [0, 0, 0],
                                        [0, 0, 0]]))
        head.bias.copy_(torch.tensor([0.0, -20, -100, -10, -100, -100, -100]))
    net = nn.Sequential(features, nn.Flatten(), nn.Identity())
    net.add_module("head", head)
    return ImageNetClassifier(net, LABELS, (0.5,) * 3, (0.5,) * 3, 224, 256, features=features, head=head)


def test_each_animal_is_boxed_by_the_cells_of_its_evidence():
    frame = np.full((224, 448, 3), 60, np.uint8)
    frame[48:112, 112:176] = 255                  # a white hen: rows 2-3, columns 4-5 of the map
    frame[144:208, 304:400] = (0, 0, 255)         # a red (BGR) hog: rows 5-6, columns 10-12
    found = EvidenceDetector(colour_classifier(), short_side=224)(frame)
    boxes = dict(zip(found.names, found.xyxy.tolist()))
    assert sorted(found.names) == ["chicken", "pig"] and np.all(found.score > 0.9)
    np.testing.assert_allclose(boxes["chicken"], [112, 48, 176, 112])
    np.testing.assert_allclose(boxes["pig"], [304, 144, 400, 208])


def test_a_frame_of_another_size_is_seen_at_the_short_side_and_boxed_in_its_own_pixels():
    frame = np.full((448, 896, 3), 60, np.uint8)
    frame[96:224, 224:352] = 255
    found = EvidenceDetector(colour_classifier(), short_side=224)([frame])[0]
    np.testing.assert_allclose(found.xyxy, [[224, 96, 352, 224]])


def test_the_whole_frame_probabilities_come_with_the_scan():
    frame = np.full((224, 224, 3), 255, np.uint8)
    scan = EvidenceDetector(colour_classifier()).scan([frame])[0]
    assert scan.maps.shape == (3, 7, 7) and LABELS[int(scan.frame_probabilities.argmax())] == "hen"


def test_classifiers_without_the_evidence_map_or_the_mapped_classes_are_refused():
    plain = ImageNetClassifier(nn.Linear(3, len(LABELS)), LABELS, (0.5,) * 3, (0.5,) * 3, 224, 256)
    with pytest.raises(SaviourError, match="needs a network ending in global average pooling and a linear layer"):
        EvidenceDetector(plain)
    with pytest.raises(SaviourError, match="the classifier has no class 'rooster'"):
        EvidenceDetector(colour_classifier(), classes={"chicken": ("rooster",)})

