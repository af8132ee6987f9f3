"""The hunter: the source notebook's tiny chicken/pig/panda/terrain classifier on 25x25 patches."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

HUNTER_LABELS = ("chicken", "pig", "panda", "terrain")
HUNTER_INPUT_SIZE = 25
HUNTER_STRIDE = 9   # two 3x3 max-pools: one output cell per 9 input pixels


class Hunter(nn.Module):
    """conv(3->7, k5) ReLU pool3, conv(7->10, k5) ReLU pool3, fc 10->10->8->4.

    Takes RGB in [0, 1] (N x 3 x 25 x 25), so attack budgets stay in the [0, 1] pixel scale used
    everywhere. The notebook fed raw 0-255 values; centring and scaling the input instead trains
    this tiny network to a lower loss. `filters` widens the first convolution (the notebook's is 7);
    8 costs no time, as the 7 are computed as 8 anyway.
    """

    def __init__(self, labels=HUNTER_LABELS, filters: int = 7):
        super().__init__()
        self.neutral_input = 0.5   # standardised to zero inside: what "removed" pixels are set to
        self.labels = tuple(labels)
        self.input_size = HUNTER_INPUT_SIZE
        self.stride = HUNTER_STRIDE   # between the windows its dense logits score
        self.features = nn.Sequential(
            nn.Conv2d(3, filters, 5), nn.ReLU(), nn.MaxPool2d(3),
            nn.Conv2d(filters, 10, 5), nn.ReLU(), nn.MaxPool2d(3),
        )
        self.head = nn.Sequential(
            nn.Linear(10, 10), nn.ReLU(), nn.Linear(10, 8), nn.ReLU(), nn.Linear(8, len(self.labels)),
        )

    @classmethod
    def fitting(cls, state_dict: dict, labels=HUNTER_LABELS) -> Hunter:
        """A hunter shaped for `state_dict`: as wide as its first convolution."""
        weight = state_dict.get("features.0.weight")
        if isinstance(weight, torch.Tensor) and weight.ndim == 4:
            return cls(labels, filters=len(weight))
        return cls(labels)   # not a hunter's weights: `load_classifier` names the mismatch

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of 25x25 patches, N x C."""
        return self.head(self._feature_map(x).flatten(1))

    def dense_logits(self, x: torch.Tensor) -> torch.Tensor:
        """Class logits of every 25x25 window at stride 9 of a larger image, N x C x H' x W'.

        The fully connected head is applied at every feature-map position, so window (r, c), which
        covers input pixels [9r, 9r + 25) x [9c, 9c + 25), gets exactly the logits `forward` gives its crop.
        """
        return self.head(self._feature_map(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)

    @property
    def gradcam_layer(self) -> nn.Module:
        """The first ReLU (after the first pool): its 7x7 map per patch is the last with spatial extent
        that runs as a module. The convolutions themselves run functionally on folded weights."""
        return self.features[1]

    def _folded_weights(self):
        """`_fold_and_pad` of the current weights. With gradients on it is recomputed per call, so it
        follows training and keeps gradients; without, it is kept until a weight changes (small inputs,
        such as the regions a rescan reruns, would otherwise spend most of their time here)."""
        conv1, _, _, conv2, _, _ = self.features
        if torch.is_grad_enabled():
            return _fold_and_pad(conv1, conv2)
        key = tuple((p.data_ptr(), p._version) for p in (conv1.weight, conv1.bias, conv2.weight, conv2.bias))
        if getattr(self, "_folded", (None,))[0] != key:
            with torch.no_grad():
                folded = _fold_and_pad(conv1, conv2)
                self._folded = key, folded, _paired(*folded[:2])
        return self._folded[1]

    def _feature_map(self, x: torch.Tensor) -> torch.Tensor:
        """`features` applied to the standardised input, computed the cheap way with identical results.

        The standardisation is folded into the first convolution's weights, which are padded to a
        multiple of 8 output channels (oneDNN's vector width; pooling 7 channels is 4x slower), and
        each pool runs before its activation: max and a monotone activation commute, and the
        activation then touches 9x fewer values. The layers stay modules, so an attack can still swap
        the ReLUs.
        """
        _, act1, pool1, conv2, act2, pool2 = self.features
        weight1, bias1, weight2 = self._folded_weights()
        if not torch.is_grad_enabled() and x.device.type == "cpu" and x.shape[3] >= PAIRED_MIN_WIDTH:
            first = _paired_conv(x, *self._folded[2])   # cached by _folded_weights
        else:
            first = F.conv2d(x, weight1, bias1)
        return act2(pool2(F.conv2d(act1(pool1(first)), weight2, conv2.bias)))


PAIRED_MIN_WIDTH = 64   # narrower inputs, such as 25x25 patches, gain nothing from pairing


def _paired(weight: torch.Tensor, bias: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The first layer's filters twice, the second copy one column on: kernel 5x6, twice the filters."""
    doubled = torch.cat([F.pad(weight, (0, 1)), F.pad(weight, (1, 0))])
    return doubled.contiguous(memory_format=torch.channels_last), bias.repeat(2)


def _paired_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """The first layer's stride-1 convolution, computed as one stride-2 convolution of `_paired`
    filters that gives two neighbouring columns per position: the same sums, as the added taps are zeros.

    oneDNN fills vectors of 16 output channels, so with 8 filters half of every vector idles. Channels
    0-7 of the output are the filters at even columns, 8-15 at odd ones; in channels-last memory that
    already is the stride-1 output, so reading it as 8 channels at every column is a view.
    """
    width = x.shape[3] - weight.shape[3] + 2
    if width % 2:
        x = F.pad(x, (0, 1)).contiguous(memory_format=torch.channels_last)
    pairs = F.conv2d(x, weight, bias, stride=(1, 2))
    n, channels, height, half = pairs.shape
    columns = pairs.permute(0, 2, 3, 1).reshape(n, height, 2 * half, channels // 2)
    return columns.permute(0, 3, 1, 2)[..., :width]


def _fold_and_pad(conv1: nn.Conv2d, conv2: nn.Conv2d):
    """conv1 applied to (x - MEAN) * SCALE as a convolution of x, with zero filters added up to a
    multiple of 8, and conv2 with matching zero input channels."""
    weight = conv1.weight * _SCALE
    bias = conv1.bias - _MEAN * weight.sum((1, 2, 3))
    extra = -len(weight) % 8
    weight1 = F.pad(weight, (0, 0, 0, 0, 0, 0, 0, extra)).contiguous(memory_format=torch.channels_last)
    weight2 = F.pad(conv2.weight, (0, 0, 0, 0, 0, extra)).contiguous(memory_format=torch.channels_last)
    return weight1, F.pad(bias, (0, extra)), weight2


_MEAN, _SCALE = 0.5, 4.0   # the input standardisation (x - 0.5) * 4
