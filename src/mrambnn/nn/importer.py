"""Import a user's binarized torch module (or a state_dict and the module that takes it)
into a `PackedNet`, through `mrambnn.engine.builder`.

The module is traced with ``torch.fx`` and its chain of operations mapped, pattern by
pattern, onto builder layers:

- binary layers: BinaryNet.pytorch's ``BinarizeLinear`` / ``BinarizeConv2d`` (weights
  ``sign(w)``, a real bias if any, their input binarized beyond the first layer),
  mrambnn's ``BinaryLinear`` / ``BinaryConv2d`` (``w >= 0`` is +1), and plain functional
  code: ``F.linear(x, torch.sign(self.weight), bias)``, ``F.conv2d(x, w.sign(), ...)``;
- after a layer, in torch's order: ``MaxPool2d(2)`` (on the pre-activations or on the
  bits), ``BatchNorm1d`` / ``BatchNorm2d`` (eval statistics), then ``Hardtanh``,
  ``torch.sign``, ``SignActivation`` or the next binary layer's own binarization;
- ``Flatten`` / ``view`` / ``reshape`` (torch's (C, H, W) order), ``Dropout``,
  ``Identity``; ``LogSoftmax`` / ``Softmax`` at the end (the imported scores are the
  logits before it; the predicted class is the same).
Anything else (a real-valued ``nn.Linear``, ReLU, average pooling, strides, dilation,
groups, a weight exactly 0 that ``torch.sign`` maps to 0) is refused with one line naming
the module and the patterns supported.

The first layer's input is the image coded as ``(pixel - input_offset) * input_scale``
(``ToTensor()`` is offset 0, scale 1/255), or ``input_levels * input_scale``; a model that
takes ``sign`` of its input gets the table ``sign(pixel - offset)``. BatchNorm is folded
exactly; torch's ``sign(0) = 0`` differs from the engine's +1 only where a BatchNorm output
is exactly 0.0, which the float parameters of a trained network practically never give.
"""

import importlib
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.fx as fx
import torch.nn.functional as F
from torch import nn

from mrambnn import __version__
from mrambnn.engine import PackedNet
from mrambnn.engine.builder import BatchNormSpec, build_packed_net
from mrambnn.engine.chain import LayerChain
from mrambnn.nn.export import batchnorm_arrays
from mrambnn.nn.layers import BinaryConv2d, BinaryLinear, SignActivation

__all__ = ["TorchImportError", "import_torch", "import_torch_state_dict", "load_module_factory",
           "load_state_dict_into"]

SUPPORTED = ("BinarizeLinear/BinarizeConv2d (BinaryNet.pytorch), BinaryLinear/BinaryConv2d, "
             "F.linear/F.conv2d with torch.sign(weight), MaxPool2d(2), BatchNorm1d/2d, "
             "Hardtanh, torch.sign, Flatten/view/reshape, Dropout, Identity, "
             "(Log)Softmax at the end")


class TorchImportError(ValueError):
    """A module the importer cannot map exactly onto the engine."""


def _refuse(where: str, what: str) -> TorchImportError:
    return TorchImportError(f"cannot import {where}: {what}; supported: {SUPPORTED}")


def _binarynet_kind(module: nn.Module) -> str | None:
    """'sign' for BinaryNet.pytorch's layers (by class name), 'nonneg' for mrambnn's."""
    if isinstance(module, BinaryLinear | BinaryConv2d):
        return "nonneg"
    if type(module).__name__ in ("BinarizeLinear", "BinarizeConv2d") and isinstance(
            module, nn.Linear | nn.Conv2d):
        return "sign"
    return None


class _Tracer(fx.Tracer):
    """Keeps binary layers and the sign activation whole (their forward is not traced)."""

    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if _binarynet_kind(m) is not None or isinstance(m, SignActivation):
            return True
        return super().is_leaf_module(m, module_qualified_name)


def _pair(value: Any) -> tuple[int, int]:
    return (int(value[0]), int(value[1])) if isinstance(value, tuple | list) \
        else (int(value), int(value))


def _signs(where: str, weight: torch.Tensor, kind: str) -> np.ndarray:
    w = weight.detach().double().numpy()
    if kind == "nonneg":
        return np.where(w >= 0, 1, -1).astype(np.int8)
    if not np.isfinite(w).all() or np.any(w == 0):
        raise _refuse(where, "a weight is exactly 0 (torch.sign gives 0, not +-1) or not "
                      "finite")
    return np.sign(w).astype(np.int8)


def _conv_arguments(where: str, weight: torch.Tensor, stride: Any, padding: Any,
                    dilation: Any, groups: int, padding_mode: str = "zeros") -> int:
    """The padding of a supported convolution; refuses the others."""
    k = tuple(weight.shape[2:])
    if isinstance(padding, str):
        padding = {"valid": 0, "same": k[0] // 2}.get(padding, -1)
    pad = _pair(padding)
    problems = [f"{name}={value}" for name, value, good in (
        ("stride", _pair(stride), (1, 1)), ("dilation", _pair(dilation), (1, 1)),
        ("groups", groups, 1), ("padding_mode", padding_mode, "zeros")) if value != good]
    if k[0] != k[1] or k[0] % 2 == 0:
        problems.append(f"kernel_size={k} (odd square only)")
    if pad[0] != pad[1] or not 0 <= pad[0] <= k[0] // 2:
        problems.append(f"padding={pad} (0 to k // 2, equal on both axes)")
    if problems:
        raise _refuse(where, ", ".join(problems))
    return pad[0]


def _pool_arguments(where: str, kernel: Any, stride: Any, padding: Any, dilation: Any,
                    ceil_mode: bool) -> None:
    found = (_pair(kernel), _pair(stride if stride else kernel), _pair(padding),
             _pair(dilation), bool(ceil_mode))
    if found != ((2, 2), (2, 2), (0, 0), (1, 1), False):
        raise _refuse(where, f"max-pooling {found} (kernel, stride, padding, dilation, "
                      "ceil_mode); only 2x2 with stride 2")


_FUNCTION_ARGS = {
    "linear": ("input", "weight", "bias"),
    "conv2d": ("input", "weight", "bias", "stride", "padding", "dilation", "groups"),
    "max_pool2d": ("input", "kernel_size", "stride", "padding", "dilation", "ceil_mode"),
    "hardtanh": ("input", "min_val", "max_val"),
}
_DEFAULTS = {"bias": None, "stride": 1, "padding": 0, "dilation": 1, "groups": 1,
             "ceil_mode": False, "min_val": -1.0, "max_val": 1.0}


def _arguments(node: fx.Node, name: str) -> dict[str, Any]:
    values = dict(_DEFAULTS)
    values.update(zip(_FUNCTION_ARGS[name], node.args, strict=False))
    values.update(node.kwargs)
    return values


def _function_name(target: Any) -> str | None:
    for name, candidates in (
            ("linear", (F.linear, torch._C._nn.linear)),
            ("conv2d", (F.conv2d, torch.conv2d)),
            ("max_pool2d", (F.max_pool2d, torch.max_pool2d)),
            ("hardtanh", (F.hardtanh,)), ("sign", (torch.sign,)),
            ("flatten", (torch.flatten,)),
            ("softmax", (F.softmax, F.log_softmax, torch.softmax, torch.log_softmax))):
        if any(target is c for c in candidates):
            return name
    return getattr(target, "__name__", None) if target in (F.dropout,) else None


def _walk(model: nn.Module) -> LayerChain:
    try:
        graph = _Tracer().trace(model)
    except Exception as error:  # torch.fx raises many kinds on untraceable code
        raise TorchImportError(f"cannot trace the module with torch.fx: "
                               f"{type(error).__name__}: {error}".splitlines()[0]) from None
    modules = dict(model.named_modules())
    chain = LayerChain(_refuse, "torch.sign or a sign activation")
    constants: dict[fx.Node, torch.Tensor] = {}
    for node in graph.nodes:
        where = f"operation {node.name}"
        if node.op == "placeholder" or node.op == "output":
            continue
        if node.op == "get_attr":
            value: Any = model
            for part in str(node.target).split("."):
                value = getattr(value, part)
            constants[node] = value
            continue
        if node.op == "call_method" and node.target in ("size", "dim"):
            continue
        inputs = [a for a in node.args if isinstance(a, fx.Node) and a not in constants]
        if node.op == "call_module":
            module = modules[str(node.target)]
            where = f"module {node.target} ({type(module).__name__})"
            kind = _binarynet_kind(module)
            if kind is not None:
                first = not chain.specs
                padding = (None if isinstance(module, nn.Linear) else _conv_arguments(
                    where, module.weight, module.stride, module.padding, module.dilation,
                    module.groups, module.padding_mode))
                chain.begin(where, "dense" if isinstance(module, nn.Linear) else "conv",
                            _signs(where, module.weight, kind), _array(module.bias), padding,
                            binarizes_input=kind == "sign" and not first)
            elif isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
                if not module.affine or module.running_mean is None \
                        or module.running_var is None:
                    raise _refuse(where, "a BatchNorm without affine parameters or running "
                                  "statistics")
                chain.batchnorm(where, BatchNormSpec(**batchnorm_arrays(module)))
            elif isinstance(module, nn.MaxPool2d):
                _pool_arguments(where, module.kernel_size, module.stride, module.padding,
                                module.dilation, module.ceil_mode)
                chain.pool(where)
            elif isinstance(module, nn.Hardtanh):
                if (module.min_val, module.max_val) != (-1.0, 1.0):
                    raise _refuse(where, "Hardtanh other than [-1, 1]")
                chain.activation(where, hard=True)
            elif isinstance(module, SignActivation):
                chain.activation(where, hard=False)
            elif isinstance(module, nn.Flatten):
                chain.flatten()
            elif isinstance(module, nn.Dropout | nn.Identity):
                pass
            elif isinstance(module, nn.LogSoftmax | nn.Softmax):
                chain.softmax = True
            else:
                raise _refuse(where, "this module")
            continue
        name = (_function_name(node.target) if node.op == "call_function"
                else str(node.target) if node.op == "call_method" else None)
        if name == "sign" and node.args and node.args[0] in constants:
            constants[node] = torch.sign(constants[node.args[0]])
        elif name in ("linear", "conv2d"):
            values = _arguments(node, name)
            weight_node = values["weight"]
            if weight_node not in constants or not _is_signed(weight_node, constants):
                raise _refuse(f"{where}", "a layer whose weights are not torch.sign of a "
                              "parameter")
            weight = constants[weight_node]
            bias_node = values["bias"]
            bias = constants.get(bias_node) if isinstance(bias_node, fx.Node) else None
            padding = None if name == "linear" else _conv_arguments(
                where, weight, values["stride"], values["padding"], values["dilation"],
                values["groups"])
            chain.begin(where, "dense" if name == "linear" else "conv",
                        _signs(where, weight, "sign"), _array(bias), padding)
        elif name == "max_pool2d":
            values = _arguments(node, name)
            _pool_arguments(where, values["kernel_size"], values["stride"],
                            values["padding"], values["dilation"], values["ceil_mode"])
            chain.pool(where)
        elif name == "hardtanh":
            values = _arguments(node, name)
            if (values["min_val"], values["max_val"]) != (-1.0, 1.0):
                raise _refuse(where, "hardtanh other than [-1, 1]")
            chain.activation(where, hard=True)
        elif name == "sign":
            chain.activation(where, hard=False)
        elif name in ("flatten", "view", "reshape"):
            chain.flatten()
        elif name in ("softmax", "log_softmax"):
            chain.softmax = True
        elif name in ("dropout", "contiguous"):
            pass
        else:
            raise _refuse(where, "this operation")
        if len(inputs) > 1:
            raise _refuse(where, "an operation joining two values (the chain must be "
                          "linear)")
    return chain


def _is_signed(node: fx.Node, constants: dict[fx.Node, torch.Tensor]) -> bool:
    """Whether ``node`` is torch.sign of a parameter."""
    sign = ((node.op == "call_function" and _function_name(node.target) == "sign")
            or (node.op == "call_method" and node.target == "sign"))
    return sign and bool(node.args) and node.args[0] in constants


def _array(tensor: torch.Tensor | None) -> np.ndarray | None:
    return None if tensor is None else tensor.detach().double().numpy()


def import_torch(model: nn.Module, *, input_shape: tuple[int, int, int],
                 input_scale: Fraction | int | str = Fraction(1, 255), input_offset: int = 0,
                 input_levels: np.ndarray | None = None,
                 metadata: dict[str, Any] | None = None) -> PackedNet:
    """The `PackedNet` of a binarized torch ``model`` (module docstring) on (H, W, C)
    uint8 images whose pixels reach the model as ``(pixel - input_offset) * input_scale``
    (or ``input_levels[c, pixel] * input_scale``).

    Raises:
        TorchImportError: one line naming what cannot be imported exactly.
    """
    was_training = model.training
    model.eval()
    try:
        chain = _walk(model)
    finally:
        model.train(was_training)
    if not chain.specs:
        raise TorchImportError("cannot import the module: it has no binary layer; "
                               f"supported: {SUPPORTED}")
    specs = chain.layer_specs()
    scale = Fraction(input_scale)
    channels = int(input_shape[2])
    if input_levels is None:
        levels = np.tile(np.arange(256, dtype=np.int64) - int(input_offset), (channels, 1))
    else:
        levels = np.asarray(input_levels, dtype=np.int64)
    if chain.binary_input:
        levels, scale = np.sign(levels), Fraction(1)
    info = {"importer": "torch", "source_class": type(model).__name__,
            "package_version": __version__, "torch_version": torch.__version__,
            "input_scale": str(scale)}
    info.update(metadata or {})
    try:
        return build_packed_net(specs, input_shape=input_shape, input_levels=levels,
                                input_scale=scale, metadata=info)
    except ValueError as error:
        raise TorchImportError(f"cannot import the module: {error}") from None


def load_module_factory(spec: str) -> Any:
    """The callable named by ``"package.module:attribute"`` (a class or function that
    builds the untrained module)."""
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise TorchImportError(f"--arch must be 'package.module:factory', got {spec!r}")
    try:
        return getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as error:
        raise TorchImportError(f"cannot load {spec!r}: {error}") from None


def import_torch_state_dict(path: Path | str, factory: Any, **options: Any) -> PackedNet:
    """Load a state_dict (``torch.load(weights_only=True)``: never unpickles code) into the
    module ``factory()`` builds, then `import_torch` it with ``options``."""
    return import_torch(load_state_dict_into(path, factory()), **options)


def load_state_dict_into(path: Path | str, model: nn.Module) -> nn.Module:
    """``model`` with the state_dict of file ``path`` loaded (``torch.load(weights_only=
    True)``: never unpickles code; a checkpoint's ``state_dict`` entry is taken);
    `TorchImportError` naming the file otherwise."""
    path = Path(path)
    if not path.is_file():
        raise TorchImportError(f"{path} does not exist or is not a file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch raises many kinds on foreign or truncated files
        raise TorchImportError(f"{path} is not a torch state_dict: "
                               f"{str(error).splitlines()[0] if str(error) else error!r}"
                               ) from None
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"],
                                                                        dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise TorchImportError(f"{path} holds a {type(state).__name__}, not a state_dict")
    try:
        model.load_state_dict(state, strict=True)
    except RuntimeError as error:
        raise TorchImportError(f"{path} does not fit the module: "
                               f"{' '.join(str(error).split())[:300]}") from None
    return model
