"""Classifiers: the shipped hunter and loading of user checkpoints."""

from engine.models.checkpoint import (ARCHITECTURES, file_sha256, load_classifier, save_checkpoint, shipped_weights,
                                      weights_file)
from engine.models.farm import FARM_LABELS, FarmClassifier
from engine.models.hunter import HUNTER_LABELS, Hunter

__all__ = ["ARCHITECTURES", "FARM_LABELS", "FarmClassifier", "HUNTER_LABELS", "Hunter", "file_sha256", "load_classifier", "save_checkpoint",
           "shipped_weights", "weights_file"]
