"""Classifiers: the shipped hunter and farm classifier, user checkpoints, ImageNet models (EfficientNet-Lite0,
timm's and torchvision's)."""

from engine.models.checkpoint import (ARCHITECTURES, file_sha256, load_classifier, save_checkpoint, shipped_weights,
                                      weights_file)
from engine.models.farm import FARM_LABELS, FarmClassifier
from engine.models.hunter import HUNTER_LABELS, Hunter
from engine.models.imagenet import ImageNetClassifier
from engine.models.timm_models import load_efficientnet_lite0, load_timm
from engine.models.torchvision_models import load_torchvision

__all__ = ["ARCHITECTURES", "FARM_LABELS", "FarmClassifier", "HUNTER_LABELS", "Hunter", "ImageNetClassifier",
           "file_sha256", "load_classifier", "load_efficientnet_lite0", "load_timm", "load_torchvision",
           "save_checkpoint", "shipped_weights", "weights_file"]
