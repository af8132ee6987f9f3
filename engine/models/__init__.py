"""Classifiers: the shipped hunter and farm classifier, user checkpoints, torchvision's ImageNet models."""

from engine.models.checkpoint import (ARCHITECTURES, file_sha256, load_classifier, save_checkpoint, shipped_weights,
                                      weights_file)
from engine.models.farm import FARM_LABELS, FarmClassifier
from engine.models.hunter import HUNTER_LABELS, Hunter
from engine.models.torchvision_models import TorchvisionClassifier, load_torchvision

__all__ = ["ARCHITECTURES", "FARM_LABELS", "FarmClassifier", "HUNTER_LABELS", "Hunter", "TorchvisionClassifier", "file_sha256",
           "load_classifier", "load_torchvision", "save_checkpoint", "shipped_weights", "weights_file"]
