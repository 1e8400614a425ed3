"""Model zoo: the BinaryNet MLP and VGG-like convolutional BNNs.

Every layer's weights are binary, the first and last included. The first layer's input
is the raw image as integers: pixel values 0..255 for the MLPs, ``pixel - 128`` for the
convolutional nets (so that their zero padding is mid-grey), hence its dot products are
exact integers; every other layer sees +-1 activations. BatchNorm follows every layer;
the output BatchNorm gives the class scores (BinaryNet's layout). Convolutional blocks
are conv -> [max-pool 2] -> BatchNorm -> sign, as in BinaryNet.
"""

from collections.abc import Callable

from torch import nn

from mrambnn.nn.layers import BinaryConv2d, BinaryLinear, SignActivation

__all__ = ["MODEL_NAMES", "BinaryConvNet", "BinaryMLP", "build_model"]

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


def _mlp(hidden: tuple[int, ...]) -> Callable[[tuple[int, int, int], int], nn.Module]:
    def build(input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
        h, w, c = input_shape
        return BinaryMLP(h * w * c, hidden, n_classes)

    return build


def _vgg(width: int, dense: int) -> Callable[[tuple[int, int, int], int], nn.Module]:
    """BinaryNet CIFAR-10 layout 2xC-MP-2x2C-MP-2x4C-MP-2xD-out, with C = ``width``."""
    conv = ((width, False), (width, True), (2 * width, False), (2 * width, True),
            (4 * width, False), (4 * width, True))

    def build(input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
        return BinaryConvNet(input_shape, conv, (dense, dense), n_classes)

    return build


def _small_conv(input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    """Fashion-MNIST: 32C3-MP2-64C3-MP2-256FC-out."""
    return BinaryConvNet(input_shape, ((32, True), (64, True)), (256,), n_classes)


def _fashion_conv(input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    """Fashion-MNIST: 64C3-MP2-128C3-MP2-256FC-out."""
    return BinaryConvNet(input_shape, ((64, True), (128, True)), (256,), n_classes)


def _tiny_conv(input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    """Tests only: 8C3-8C3-MP2-16FC-out."""
    return BinaryConvNet(input_shape, ((8, False), (8, True)), (16,), n_classes)


_BUILDERS: dict[str, Callable[[tuple[int, int, int], int], nn.Module]] = {
    "mlp-3x1024": _mlp((1024, 1024, 1024)),
    "mlp-3x2048": _mlp((2048, 2048, 2048)),
    "mlp-tiny": _mlp((64, 32)),
    "vgg-binarynet": _vgg(128, 1024),  # Courbariaux/Hubara et al. 2016: 88.6 % on CIFAR-10
    "vgg-narrow": _vgg(32, 256),  # a quarter of the width, for quick CPU runs
    "vgg-w48": _vgg(48, 512),  # 3/8 of the width: the CPU-trained shipped CIFAR-10 model
    "conv-small": _small_conv,
    "conv-fashion": _fashion_conv,
    "conv-tiny": _tiny_conv,
}
MODEL_NAMES = tuple(_BUILDERS)


def build_model(name: str, input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    """A fresh model of architecture ``name`` (one of `MODEL_NAMES`)."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return _BUILDERS[name](input_shape, n_classes)
