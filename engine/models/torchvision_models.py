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
from engine.models.imagenet import ImageNetClassifier

PREFIX = "torchvision:"   # how commands name one: --weights torchvision:resnet50


def load_torchvision(name: str, pretrained: bool = True) -> ImageNetClassifier:
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
    features, head = _pooled_linear(net)
    return ImageNetClassifier(net, weights.meta["categories"], preset.mean, preset.std, preset.crop_size[0],
                              preset.resize_size[0], features, head).eval()


def _pooled_linear(net: nn.Module) -> tuple[nn.Module | None, nn.Linear | None]:
    """The layers before global average pooling and the linear head after it, for networks built as
    ResNets are (`avgpool`, then `fc`); (None, None) for others."""
    if isinstance(getattr(net, "fc", None), nn.Linear) and isinstance(getattr(net, "avgpool", None),
                                                                      nn.AdaptiveAvgPool2d):
        children = dict(net.named_children())
        return nn.Sequential(*[m for n, m in children.items() if n not in ("avgpool", "fc")]), net.fc
    return None, None


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
