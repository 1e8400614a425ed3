"""Model zoo: the BinaryNet MLP and VGG-like convolutional BNNs.

Every layer's weights are binary, the first and last included. The first layer's input
is the raw image as integers: pixel values 0..255 for the MLPs, ``pixel - 128`` for the
convolutional nets (so that their zero padding is mid-grey), hence its dot products are
exact integers; every other layer sees +-1 activations. BatchNorm follows every layer;
the output BatchNorm gives the class scores (BinaryNet's layout). Convolutional blocks
are conv -> [max-pool 2] -> BatchNorm -> sign, as in BinaryNet.
"""

import numpy as np
import torch
from torch import nn

from mrambnn.architectures import NAMED, parse_architecture
from mrambnn.nn.layers import BinaryConv2d, BinaryLinear, SignActivation

__all__ = ["MODEL_NAMES", "BinaryConvNet", "BinaryMLP", "build_model", "images_to_tensor"]

BN_EPS = 1e-5


def _dense_stack(width: int, hidden: tuple[int, ...], n_classes: int) -> list[nn.Module]:
    """Binary dense layers of the given hidden widths (BatchNorm, sign), then the output
    layer with its BatchNorm (the class scores), fed ``width`` inputs."""
    modules: list[nn.Module] = []
    for size in hidden:
        modules += [BinaryLinear(width, size), nn.BatchNorm1d(size, eps=BN_EPS),
                    SignActivation()]
        width = size
    return [*modules, BinaryLinear(width, n_classes), nn.BatchNorm1d(n_classes, eps=BN_EPS)]


class BinaryMLP(nn.Sequential):
    """Binary MLP: [BinaryLinear - BatchNorm - sign] x len(hidden), BinaryLinear - BatchNorm.

    Input: (N, in_features) float tensor of integer pixel values. Output: (N, n_classes).
    """

    input_layout = "flat"
    input_offset = 0

    def __init__(self, in_features: int, hidden: tuple[int, ...], n_classes: int) -> None:
        super().__init__(*_dense_stack(in_features, hidden, n_classes))


class BinaryConvNet(nn.Sequential):
    """VGG-like binary conv net.

    ``conv`` lists (channels, pool) per 3x3 conv layer (pool: 2x2 max-pool after it);
    ``dense`` lists the hidden fully connected widths. Input (N, C, H, W) of integer
    ``pixel - 128`` values; output (N, n_classes).
    """

    input_layout = "nchw"
    input_offset = 128

    def __init__(self, input_shape: tuple[int, int, int], conv: tuple[tuple[int, bool], ...],
                 dense: tuple[int, ...], n_classes: int) -> None:
        h, w, channels = input_shape
        modules: list[nn.Module] = []
        for out_channels, pool in conv:
            modules.append(BinaryConv2d(channels, out_channels, 3, padding=1))
            if pool:
                modules.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            modules += [nn.BatchNorm2d(out_channels, eps=BN_EPS), SignActivation()]
            channels = out_channels
        modules.append(nn.Flatten())
        super().__init__(*modules, *_dense_stack(channels * h * w, dense, n_classes))


MODEL_NAMES = tuple(NAMED)


def build_model(name: str, input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    """A fresh model of architecture ``name``: one of `MODEL_NAMES` or a parametric name
    (`mrambnn.architectures.parse_architecture`)."""
    arch = parse_architecture(name)
    if not arch.conv:
        h, w, c = input_shape
        return BinaryMLP(h * w * c, arch.dense, n_classes)
    return BinaryConvNet(input_shape, arch.conv, arch.dense, n_classes)


def images_to_tensor(images: torch.Tensor | np.ndarray, model: nn.Module) -> torch.Tensor:
    """uint8 images (N, H, W, C) -> the model's float input (integers ``pixel - offset``)."""
    x = torch.as_tensor(np.asarray(images)).to(torch.float32) - getattr(model, "input_offset", 0)
    if getattr(model, "input_layout", "flat") == "nchw":
        return x.permute(0, 3, 1, 2).contiguous()
    return x.reshape(len(x), -1)
