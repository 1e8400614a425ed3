"""Export a trained torch BNN (MLP or conv net) into an `engine.PackedNet` (BatchNorm folded).

Folding a hidden layer: with pre-activation ``a`` (an exact integer), BatchNorm
``y = gamma (a - mu) / sigma + beta`` with ``sigma = sqrt(var + eps)``, and sign(0) = +1:
- gamma > 0: ``y >= 0  <=>  a >= tau`` with ``tau = mu - beta sigma / gamma``, so the bit is
  ``a >= ceil(tau)``;
- gamma < 0: ``y >= 0  <=>  a <= floor(tau)``, i.e. ``-a >= -floor(tau)``;
- gamma = 0: the bit is the constant ``beta >= 0``.
The fold is computed in float64. The output layer's BatchNorm becomes ``a * scale + offset``.
"""

import numpy as np
import torch
from torch import nn

from mrambnn import __version__
from mrambnn.bits import pack_signs
from mrambnn.engine import Affine, Conv, Dense, Layer, PackedNet, Threshold
from mrambnn.nn.layers import BinaryConv2d, BinaryLinear, SignActivation

__all__ = ["export_packed_net", "fold_threshold"]

_ALWAYS = 2**40  # a threshold no integer pre-activation of a real layer reaches


def fold_threshold(bn: nn.modules.batchnorm._BatchNorm) -> Threshold:
    """Integer threshold and direction equivalent to sign(BatchNorm(a)) for integer a."""
    gamma = bn.weight.detach().double().numpy()
    beta = bn.bias.detach().double().numpy()
    mu = bn.running_mean.detach().double().numpy()
    sigma = np.sqrt(bn.running_var.detach().double().numpy() + bn.eps)
    safe_gamma = np.where(gamma == 0, 1.0, gamma)
    tau = mu - beta * sigma / safe_gamma
    threshold = np.where(gamma > 0, np.ceil(tau), -np.floor(tau))
    threshold = np.where(gamma == 0, np.where(beta >= 0, -_ALWAYS, _ALWAYS), threshold)
    direction = np.where(gamma < 0, -1, 1).astype(np.int8)
    return Threshold(threshold=threshold.astype(np.int64), direction=direction)


def _fold_affine(bn: nn.BatchNorm1d) -> Affine:
    gamma = bn.weight.detach().double().numpy()
    beta = bn.bias.detach().double().numpy()
    mu = bn.running_mean.detach().double().numpy()
    scale = gamma / np.sqrt(bn.running_var.detach().double().numpy() + bn.eps)
    return Affine(scale=scale, offset=beta - mu * scale)


def _signs(weight: torch.Tensor) -> np.ndarray:
    return np.where(weight.detach().numpy() >= 0, 1, -1).astype(np.int8)


def _take(modules: list[nn.Module], i: int, kind: type) -> bool:
    return i < len(modules) and isinstance(modules[i], kind)


def export_packed_net(
    model: nn.Module, input_shape: tuple[int, int, int], metadata: dict | None = None
) -> PackedNet:
    """Pack a `BinaryMLP` or `BinaryConvNet` for the engine.

    Conv blocks are BinaryConv2d [- MaxPool2d(2)] - BatchNorm2d - sign; dense blocks are
    BinaryLinear - BatchNorm1d [- sign]. Conv weights (O, C, ky, kx) are reordered to the
    engine's patch order (ky, kx, C), and the first dense layer after the convolutions
    gets its columns reordered from torch's (C, H, W) flattening to (H, W, C).
    """
    modules = list(model.children())
    layers: list[Layer] = []
    shape: tuple[int, ...] = tuple(input_shape)
    flatten_from: tuple[int, int, int] | None = None
    i = 0
    while i < len(modules):
        module = modules[i]
        if isinstance(module, BinaryConv2d):
            pool = _take(modules, i + 1, nn.MaxPool2d)
            j = i + 2 if pool else i + 1
            if not (_take(modules, j, nn.BatchNorm2d) and _take(modules, j + 1, SignActivation)):
                raise TypeError(f"module {i}: conv must be followed by BatchNorm2d and sign")
            signs = _signs(module.weight).transpose(0, 2, 3, 1).reshape(module.out_channels, -1)
            h, w, c = shape
            layer = Conv(weight_words=pack_signs(signs), in_shape=(h, w, c),
                         filter_size=module.kernel_size[0], pool=pool, integer_input=not layers,
                         head=fold_threshold(modules[j]))
            layers.append(layer)
            shape = layer.out_shape
            i = j + 2
        elif isinstance(module, nn.Flatten):
            h, w, c = shape
            flatten_from = (h, w, c)
            shape = (h * w * c,)
            i += 1
        elif isinstance(module, BinaryLinear) and _take(modules, i + 1, nn.BatchNorm1d):
            signs = _signs(module.weight)
            if flatten_from is not None:
                h, w, c = flatten_from
                signs = signs.reshape(-1, c, h, w).transpose(0, 2, 3, 1).reshape(len(signs), -1)
                flatten_from = None
            hidden = _take(modules, i + 2, SignActivation)
            head = fold_threshold(modules[i + 1]) if hidden else _fold_affine(modules[i + 1])
            layers.append(Dense(weight_words=pack_signs(signs), in_features=module.in_features,
                                integer_input=not layers, head=head))
            shape = (module.out_features,)
            i += 3 if hidden else 2
        else:
            raise TypeError(f"cannot export module {i} ({type(module).__name__})")
    info = {"package_version": __version__, "torch_version": torch.__version__}
    info.update(metadata or {})
    return PackedNet(layers=tuple(layers), input_shape=input_shape,
                     input_offset=int(getattr(model, "input_offset", 0)), metadata=info)
