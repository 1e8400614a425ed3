"""Model zoo: the BinaryNet MLP for MNIST-like images.

Every layer's weights are binary, the first and last included. The first layer's input
is the raw image as integer pixel values 0..255 (flattened H, W, C), so its dot products
are exact integers; every other layer sees +-1 activations. BatchNorm follows every
layer; the output BatchNorm gives the class scores (BinaryNet's layout).
"""

from collections.abc import Callable

from torch import nn

from mrambnn.nn.layers import BinaryLinear, SignActivation

__all__ = ["MODEL_NAMES", "BinaryMLP", "build_model"]

BN_EPS = 1e-5


class BinaryMLP(nn.Sequential):
    """Binary MLP: [BinaryLinear - BatchNorm - sign] x len(hidden), BinaryLinear - BatchNorm.

    Input: (N, in_features) float tensor of integer pixel values. Output: (N, n_classes).
    """

    def __init__(self, in_features: int, hidden: tuple[int, ...], n_classes: int) -> None:
        modules: list[nn.Module] = []
        width = in_features
        for size in hidden:
            modules += [BinaryLinear(width, size), nn.BatchNorm1d(size, eps=BN_EPS),
                        SignActivation()]
            width = size
        modules += [BinaryLinear(width, n_classes), nn.BatchNorm1d(n_classes, eps=BN_EPS)]
        super().__init__(*modules)
        self.in_features = in_features
        self.hidden = hidden
        self.n_classes = n_classes


def _mlp(hidden: tuple[int, ...]) -> Callable[[tuple[int, int, int], int], nn.Module]:
    def build(input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
        h, w, c = input_shape
        return BinaryMLP(h * w * c, hidden, n_classes)

    return build


_BUILDERS: dict[str, Callable[[tuple[int, int, int], int], nn.Module]] = {
    "mlp-3x1024": _mlp((1024, 1024, 1024)),
    "mlp-3x2048": _mlp((2048, 2048, 2048)),
    "mlp-tiny": _mlp((64, 32)),
}
MODEL_NAMES = tuple(_BUILDERS)


def build_model(name: str, input_shape: tuple[int, int, int], n_classes: int) -> nn.Module:
    """A fresh model of architecture ``name`` (one of `MODEL_NAMES`)."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODEL_NAMES)}")
    return _BUILDERS[name](input_shape, n_classes)
