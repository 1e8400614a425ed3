"""Export a trained torch BNN (MLP or conv net) into an `engine.PackedNet` (BatchNorm folded).

Folding a hidden layer: with pre-activation ``a`` (an exact integer), BatchNorm
``y = gamma (a - mu) / sigma + beta`` with ``sigma = sqrt(var + eps)``, and sign(0) = +1:
- gamma > 0: ``y >= 0  <=>  a >= tau`` with ``tau = mu - beta sigma / gamma``, so the bit is
  ``a >= ceil(tau)``;
- gamma < 0: ``y >= 0  <=>  a <= floor(tau)``, i.e. ``-a >= -floor(tau)``;
- gamma = 0: the bit is the constant ``beta >= 0``.
The fold is computed in float64, then settled exactly: the sign of ``gamma (a - mu) + beta
sigma`` at the integers beside it is decided in rational arithmetic (``sigma`` irrational
included), so a pre-activation that BatchNorm sends exactly to zero gets +1 as sign(0)
does. Thresholds beyond +-2^40 (no layer's sum reaches them) are clipped there, never
wrapped. The output layer's BatchNorm becomes ``a * scale + offset``.

The exporter refuses, naming the module, what the engine cannot evaluate exactly:
convolutions other than odd square filters with stride 1, 'same' zero padding (k // 2),
no dilation, groups or bias; pooling other than 2x2 max-pooling with stride 2.
"""

from fractions import Fraction

import numpy as np
import torch
from torch import nn

from mrambnn import __version__
from mrambnn.bits import pack_signs
from mrambnn.engine import Affine, Conv, Dense, Layer, PackedNet, Threshold
from mrambnn.nn.layers import BinaryConv2d, BinaryLinear, SignActivation

__all__ = ["export_packed_net", "fold_threshold"]

_ALWAYS = 2**40  # a threshold no integer pre-activation of a real layer reaches


def _sign_at(a: int, gamma: float, beta: float, mu: float, variance: Fraction) -> int:
    """Exact sign (-1, 0, 1) of ``gamma (a - mu) + beta sqrt(variance)``, whose sign is
    that of BatchNorm(a) (the float parameters taken as exact rationals)."""
    x = Fraction(gamma) * (a - Fraction(mu))
    y = Fraction(beta)
    if x == 0 or y == 0 or (x > 0) == (y > 0):
        total = x if y == 0 else y if x == 0 else x
        return (total > 0) - (total < 0)
    difference = x * x - y * y * variance  # |x| against |y| sqrt(variance)
    bigger = x if difference > 0 else y
    return 0 if difference == 0 else (bigger > 0) - (bigger < 0)


def _settle(estimate: float, gamma: float, beta: float, mu: float, variance: Fraction) -> int:
    """The smallest integer a (gamma > 0) with BatchNorm(a) >= 0, from a float estimate
    at most a few units off; clipped to +-_ALWAYS."""
    if not abs(estimate) < _ALWAYS:
        return int(np.clip(estimate, -_ALWAYS, _ALWAYS))
    a = int(estimate)
    while a > -_ALWAYS and _sign_at(a - 1, gamma, beta, mu, variance) >= 0:
        a -= 1
    while a < _ALWAYS and _sign_at(a, gamma, beta, mu, variance) < 0:
        a += 1
    return a


def fold_threshold(bn: nn.modules.batchnorm._BatchNorm) -> Threshold:
    """Integer threshold and direction equivalent to sign(BatchNorm(a)) for integer a,
    exactly (module docstring); raises ValueError for non-finite parameters or a
    non-positive variance."""
    gamma = bn.weight.detach().double().numpy()
    beta = bn.bias.detach().double().numpy()
    mu = bn.running_mean.detach().double().numpy()
    var = bn.running_var.detach().double().numpy()
    if not all(np.isfinite(v).all() for v in (gamma, beta, mu, var)) or np.any(var + bn.eps <= 0):
        raise ValueError("BatchNorm parameters must be finite with running_var + eps > 0")
    sigma = np.sqrt(var + bn.eps)
    safe_gamma = np.where(gamma == 0, 1.0, gamma)
    with np.errstate(over="ignore"):
        tau = mu - beta * sigma / safe_gamma
    threshold = np.empty(gamma.size, np.int64)
    for o in range(gamma.size):
        variance = Fraction(float(var[o])) + Fraction(bn.eps)
        if gamma[o] > 0:
            threshold[o] = _settle(float(np.ceil(tau[o])), gamma[o], beta[o], mu[o], variance)
        elif gamma[o] < 0:  # in b = -a: (-gamma)(b + mu) + beta sigma >= 0, increasing
            threshold[o] = _settle(float(np.ceil(-tau[o])), -gamma[o], beta[o], -mu[o],
                                   variance)
        else:
            threshold[o] = -_ALWAYS if beta[o] >= 0 else _ALWAYS
    direction = np.where(gamma < 0, -1, 1).astype(np.int8)
    return Threshold(threshold=threshold, direction=direction)


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


def _pair(value: int | tuple[int, ...]) -> tuple[int, ...]:
    return tuple(value) if isinstance(value, tuple) else (value, value)


def _check_conv(i: int, conv: nn.Conv2d) -> None:
    """Refuse, naming module i, a convolution the engine cannot evaluate exactly."""
    k = _pair(conv.kernel_size)
    found = {"kernel_size": k, "stride": _pair(conv.stride), "padding": conv.padding,
             "dilation": _pair(conv.dilation), "groups": conv.groups,
             "bias": conv.bias is not None, "padding_mode": conv.padding_mode}
    wanted = {"kernel_size": (k[0], k[0]), "stride": (1, 1), "padding": (k[0] // 2,) * 2,
              "dilation": (1, 1), "groups": 1, "bias": False, "padding_mode": "zeros"}
    if isinstance(found["padding"], str) or not isinstance(found["padding"], tuple):
        found["padding"] = _pair(found["padding"])  # type: ignore[arg-type]
    wrong = [f"{key}={found[key]!r} (supported: {wanted[key]!r})" for key in wanted
             if found[key] != wanted[key]]
    if k[0] % 2 == 0:
        wrong.append(f"kernel_size={k!r} (supported: odd)")
    if wrong:
        raise TypeError(f"cannot export module {i} ({type(conv).__name__}): "
                        + ", ".join(wrong))


def _check_pool(i: int, pool: nn.MaxPool2d) -> None:
    """Refuse, naming module i, pooling other than 2x2 max-pooling with stride 2."""
    found = (_pair(pool.kernel_size), _pair(pool.stride or pool.kernel_size),
             _pair(pool.padding), _pair(pool.dilation), pool.ceil_mode)
    if found != ((2, 2), (2, 2), (0, 0), (1, 1), False):
        raise TypeError(f"cannot export module {i} (MaxPool2d with kernel_size, stride, "
                        f"padding, dilation, ceil_mode = {found}): only MaxPool2d(2) "
                        "(2x2 windows, stride 2) is supported")


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
            _check_conv(i, module)
            pool = _take(modules, i + 1, nn.MaxPool2d)
            if pool:
                _check_pool(i + 1, modules[i + 1])
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
