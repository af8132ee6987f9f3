"""torchvision's ImageNet classifiers (the second notebook explained a ResNet-50), as our classifiers.

`load_torchvision("resnet50")` downloads the ImageNet weights into PyTorch's hub cache on first use
(`torch.hub.get_dir()`), checks the file's hash and loads it with `weights_only=True`; later runs
read the cache. `pretrained=False` gives random weights: no download, for trying the commands out.
"""

from __future__ import annotations

import pickle

import torch
from torch import nn

from engine.errors import SaviourError

PREFIX = "torchvision:"   # how commands name one: --weights torchvision:resnet50


class TorchvisionClassifier(nn.Module):
    """A torchvision network that takes RGB in [0, 1], as our models do, and normalises it inside.

    `neutral_input` is the dataset's mean colour, which normalises to zero: what RISE's masked-out
    pixels and the other methods' baselines take, as in the RISE paper.
    """

    def __init__(self, net: nn.Module, labels, mean, std, input_size: int, resize_size: int):
        super().__init__()
        self.net = net
        self.labels = tuple(labels)
        self.input_size = input_size
        self.resize_size = resize_size   # images are resized to this short side, then centre-cropped
        self.register_buffer("neutral_input", torch.tensor(mean).view(-1, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(std).view(-1, 1, 1), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net((x - self.neutral_input) / self.std)


def load_torchvision(name: str, pretrained: bool = True) -> TorchvisionClassifier:
    """A torchvision classification model by name (see `torchvision.models.list_models()`), in eval mode."""
    from torchvision import models   # imported here: only these models need it

    known = models.list_models(module=models)
    if name not in known:
        raise SaviourError(f"{PREFIX}{name}: not one of torchvision's {len(known)} classification models "
                           "(for example resnet18, resnet50, vit_b_16; see torchvision.models.list_models())")
    weights = models.get_model_weights(name).DEFAULT
    with torch.random.fork_rng(devices=[]):   # random weights come out the same on every run
        torch.manual_seed(0)
        net = models.get_model(name, weights=None, **_builder_options(name, weights))
    if pretrained:
        net.load_state_dict(_downloaded_state(name, weights))
    preset = weights.transforms()
    return TorchvisionClassifier(net, weights.meta["categories"], preset.mean, preset.std,
                                 preset.crop_size[0], preset.resize_size[0]).eval()


def _builder_options(name: str, weights) -> dict:
    """The options torchvision's builders set when they load these weights themselves."""
    options = {"num_classes": len(weights.meta["categories"])}
    if name in ("googlenet", "inception_v3"):
        options.update(transform_input=True, aux_logits=True, init_weights=False)
    elif name.startswith("vit_"):
        options["image_size"] = weights.meta["min_size"][0]
    elif name == "maxvit_t":
        options["input_size"] = weights.meta["min_size"]
    return options


def _downloaded_state(name: str, weights) -> dict:
    try:
        return torch.hub.load_state_dict_from_url(weights.url, map_location="cpu", progress=True, check_hash=True,
                                                  weights_only=True)
    except (OSError, RuntimeError, pickle.UnpicklingError, EOFError) as error:   # OSError: no network too
        reason = str(error).strip().splitlines()[0][:160] if str(error).strip() else type(error).__name__
        raise SaviourError(f"{PREFIX}{name}: could not load its ImageNet weights {weights.url} ({reason}). "
                           "Check the network, or use --random-weights to try the model without them; a broken "
                           f"download can be deleted from {torch.hub.get_dir()}/checkpoints") from None
