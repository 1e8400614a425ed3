"""Export a trained torch BNN (MLP or conv net) into an `engine.PackedNet` (BatchNorm folded).

BatchNorm is folded exactly by `mrambnn.engine.folding` (integer thresholds for hidden
layers, ``a * scale + offset`` for the output layer).

The exporter refuses, naming the module, what the engine cannot evaluate exactly:
convolutions other than odd square filters with stride 1, 'same' zero padding (k // 2),
no dilation, groups or bias; pooling other than 2x2 max-pooling with stride 2.
"""

import numpy as np
import torch
from torch import nn

from mrambnn import __version__
from mrambnn.bits import pack_signs
from mrambnn.engine import Affine, Conv, Dense, Layer, PackedNet, Threshold
from mrambnn.engine.folding import fold_affine, fold_batchnorm
from mrambnn.nn.layers import BinaryConv2d, BinaryLinear, SignActivation

__all__ = ["batchnorm_arrays", "export_packed_net", "fold_threshold"]

def fold_threshold(bn: nn.modules.batchnorm._BatchNorm) -> Threshold:
    """Integer threshold and direction equivalent to sign(BatchNorm(a)) for integer a,
    exactly (`mrambnn.engine.folding`); raises ValueError for non-finite parameters or a
    non-positive variance."""
    return fold_batchnorm(**batchnorm_arrays(bn))


def batchnorm_arrays(bn: nn.modules.batchnorm._BatchNorm) -> dict:
    """A BatchNorm module's parameters as float64 arrays (keyword arguments of
    `fold_batchnorm` and `fold_affine`)."""
    def array(t: torch.Tensor | None) -> np.ndarray:
        if t is None:
            raise ValueError("a BatchNorm needs affine parameters and running statistics")
        return t.detach().double().numpy()
    return {"mean": array(bn.running_mean), "variance": array(bn.running_var),
            "gamma": array(bn.weight), "beta": array(bn.bias), "eps": float(bn.eps)}


def _fold_affine(bn: nn.BatchNorm1d) -> Affine:
    return fold_affine(**batchnorm_arrays(bn), n_out=bn.num_features)


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
