"""Export a trained torch BNN into an `engine.PackedNet` (BatchNorm folded).

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
from mrambnn.engine import Affine, Dense, PackedNet, Threshold
from mrambnn.nn.layers import BinaryLinear, SignActivation

__all__ = ["export_packed_net", "fold_threshold"]

_ALWAYS = 2**40  # a threshold no integer pre-activation of a real layer reaches


def fold_threshold(bn: nn.BatchNorm1d) -> Threshold:
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


def _binary_signs(layer: BinaryLinear) -> np.ndarray:
    weight = layer.weight.detach().numpy()
    return np.where(weight >= 0, 1, -1).astype(np.int8)


def export_packed_net(
    model: nn.Module, input_shape: tuple[int, int, int], metadata: dict | None = None
) -> PackedNet:
    """Pack a `BinaryMLP` (BinaryLinear - BatchNorm1d [- sign] blocks) for the engine."""
    modules = [m for m in model.children()]
    layers: list[Dense] = []
    i = 0
    while i < len(modules):
        linear, bn = modules[i], modules[i + 1] if i + 1 < len(modules) else None
        if not isinstance(linear, BinaryLinear) or not isinstance(bn, nn.BatchNorm1d):
            raise TypeError(f"cannot export module {i}: expected BinaryLinear then BatchNorm1d")
        hidden = i + 2 < len(modules) and isinstance(modules[i + 2], SignActivation)
        head = fold_threshold(bn) if hidden else _fold_affine(bn)
        layers.append(Dense(weight_words=pack_signs(_binary_signs(linear)),
                            in_features=linear.in_features, integer_input=not layers,
                            head=head))
        i += 3 if hidden else 2
    info = {"package_version": __version__, "torch_version": torch.__version__}
    info.update(metadata or {})
    return PackedNet(layers=tuple(layers), input_shape=input_shape, metadata=info)
