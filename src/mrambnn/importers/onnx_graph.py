"""Import a binarized network from an ONNX graph (plain ONNX with ``Sign`` nodes, or QONNX
as Brevitas exports it, with ``BipolarQuant`` nodes) into a `PackedNet`, through
`mrambnn.engine.builder`. Read with the ``onnx`` package; ``onnx.load`` executes nothing.

The graph must be one chain from its image input (N, C, H, W) to its scores. Recognised:
- weights: an initializer (or ``Constant``) passed through ``Sign`` or ``BipolarQuant``
  with scale 1 (+1 from 0), possibly ``Transpose``-d; a weight exactly 0 under ``Sign``
  is refused (``Sign(0) = 0``);
- layers: ``MatMul`` (x W), ``Gemm`` (alpha = beta = 1, either ``transB``, bias C),
  ``Conv`` (odd square kernel, stride 1, no dilation or groups, equal pads 0 to k // 2,
  bias), an ``Add`` of a constant bias right after a layer;
- after a layer: ``MaxPool`` 2x2 stride 2 (before or after the sign),
  ``BatchNormalization``, then ``Sign``, ``BipolarQuant`` (scale 1) or ``Clip(-1, 1)``
  followed by a binarization;
- ``Flatten`` (axis 1), ``Reshape`` to (N, -1), ``Identity``, ``Dropout``; ``Softmax`` /
  ``LogSoftmax`` at the end (the scores are the logits before it).
The image reaches the graph as ``(pixel - input_offset) * input_scale``; a ``Mul`` or
``Div`` by a positive constant, or a ``Sub`` / ``Add`` of a constant, before the first
layer is folded into that coding when it stays exact (else refused). Anything else is
refused with one line naming the node and its operator.
"""

from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn import __version__
from mrambnn.engine import PackedNet
from mrambnn.engine.builder import BatchNormSpec, build_packed_net
from mrambnn.engine.chain import LayerChain

__all__ = ["OnnxImportError", "import_onnx"]

SUPPORTED = ("Sign/BipolarQuant weights and activations, MatMul, Gemm, Conv, Add (bias), "
             "MaxPool 2x2, BatchNormalization, Clip(-1,1), Flatten, Reshape, Identity, "
             "Dropout, (Log)Softmax at the end")


class OnnxImportError(ValueError):
    """A graph the importer cannot map exactly onto the engine."""


def _refuse(node: Any, what: str) -> OnnxImportError:
    name = f"node {node.name or node.output[0]!r} ({node.op_type})"
    return OnnxImportError(f"cannot import {name}: {what}; supported: {SUPPORTED}")


def _attributes(node: Any) -> dict[str, Any]:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


class _Walk(LayerChain):
    """The chain (`LayerChain`), the graph's constants, and the input coding's scale and
    offset while still at the input."""

    def __init__(self, constants: dict[str, np.ndarray], input_scale: Fraction,
                 input_offset: Fraction) -> None:
        super().__init__(_refuse, "Sign or BipolarQuant")
        self.constants = constants
        self.scale, self.offset = input_scale, input_offset

    def constant(self, name: str) -> np.ndarray | None:
        return self.constants.get(name)


def _signed(node: Any, values: np.ndarray, how: str) -> np.ndarray:
    if how == "sign":
        if np.any(values == 0) or not np.isfinite(values).all():
            raise _refuse(node, "a weight is exactly 0 (Sign gives 0, not +-1) or not finite")
        return np.sign(values)
    return np.where(values >= 0, 1.0, -1.0)


def _bipolar_scale(walk: _Walk, node: Any) -> None:
    scale = walk.constant(node.input[1]) if len(node.input) > 1 else np.ones(1)
    if scale is None or not np.all(scale == 1):
        raise _refuse(node, "BipolarQuant with a scale other than 1")


def _conv_padding(node: Any, weight: np.ndarray) -> int:
    a = _attributes(node)
    k = weight.shape[2:]
    pads = list(a.get("pads", [0, 0, 0, 0]))
    problems = [f"{key}={a[key]}" for key, good in (("strides", [1, 1]),
                                                     ("dilations", [1, 1]), ("group", 1))
                if key in a and list(np.atleast_1d(a[key])) != list(np.atleast_1d(good))]
    if a.get("auto_pad", b"NOTSET") not in (b"NOTSET", "NOTSET"):
        problems.append(f"auto_pad={a['auto_pad']!r}")
    if len(k) != 2 or k[0] != k[1] or k[0] % 2 == 0:
        problems.append(f"kernel {tuple(k)} (odd square only)")
    if len(set(pads)) != 1 or not 0 <= pads[0] <= k[0] // 2:
        problems.append(f"pads={pads} (equal, 0 to k // 2)")
    if problems:
        raise _refuse(node, ", ".join(problems))
    return int(pads[0])


def _walk(model: Any, input_scale: Fraction, input_offset: Fraction) -> _Walk:
    from onnx import numpy_helper
    graph = model.graph
    constants = {t.name: numpy_helper.to_array(t).astype(np.float64)
                 for t in graph.initializer}
    inputs = [i.name for i in graph.input if i.name not in constants]
    if len(inputs) != 1:
        raise OnnxImportError(f"cannot import the graph: it takes {len(inputs)} inputs "
                              "besides its weights; it must take one image batch")
    walk = _Walk(constants, input_scale, input_offset)
    chain = inputs[0]
    for node in graph.node:
        op, names = node.op_type, list(node.input)
        if op == "Constant":
            value = _attributes(node).get("value")
            if value is None:
                raise _refuse(node, "a Constant that is not a tensor")
            constants[node.output[0]] = numpy_helper.to_array(value).astype(np.float64)
            continue
        if names and all(n in constants or n == "" for n in names):
            data = constants[names[0]]
            if op == "Sign":
                constants[node.output[0]] = _signed(node, data, "sign")
            elif op == "BipolarQuant":
                _bipolar_scale(walk, node)
                constants[node.output[0]] = _signed(node, data, "bipolar")
            elif op == "Transpose":
                perm = _attributes(node).get("perm")
                constants[node.output[0]] = np.transpose(data, perm)
            elif op == "Identity":
                constants[node.output[0]] = data
            else:
                raise _refuse(node, "an operation on constants only")
            continue
        if not names or names[0] != chain or any(
                n not in constants and n not in ("", chain) for n in names[1:]):
            raise _refuse(node, "a node off the single chain from the input")
        chain = node.output[0]
        _step(walk, node, op, names)
    outputs = [o.name for o in graph.output]
    if outputs != [chain]:
        raise OnnxImportError(f"cannot import the graph: its output {outputs} is not the "
                              "end of the chain")
    return walk


def _step(walk: _Walk, node: Any, op: str, names: list[str]) -> None:
    """Apply one node of the chain to the walk's state."""
    a = _attributes(node)
    constant = walk.constant
    if op in ("MatMul", "Gemm"):
        weight = constant(names[1])
        if weight is None or weight.ndim != 2:
            raise _refuse(node, "a second operand that is not a 2-D constant")
        if op == "Gemm" and (a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0
                             or a.get("transA", 0)):
            raise _refuse(node, "Gemm with alpha, beta or transA")
        matrix = weight if op == "Gemm" and a.get("transB", 0) else weight.T
        bias = constant(names[2]) if op == "Gemm" and len(names) > 2 and names[2] else None
        walk.begin(node, "dense", _check_binary(node, matrix), bias, None)
    elif op == "Conv":
        weight = constant(names[1])
        if weight is None or weight.ndim != 4:
            raise _refuse(node, "weights that are not a 4-D constant")
        bias = constant(names[2]) if len(names) > 2 and names[2] else None
        walk.begin(node, "conv", _check_binary(node, weight), bias,
                   _conv_padding(node, weight))
    elif op == "Add" and walk.state == "pre" and walk.specs[-1]["bias"] is None:
        bias = constant(names[1])
        if bias is None:
            raise _refuse(node, "an Add of a non-constant")
        walk.add_bias(node, bias)
    elif op in ("Mul", "Div", "Sub", "Add") and walk.state == "input" and not walk.specs:
        _fold_input(walk, node, op, constant(names[1]))
    elif op == "BatchNormalization":
        gamma, beta, mean, var = (constant(n) for n in names[1:5])
        if any(v is None for v in (gamma, beta, mean, var)):
            raise _refuse(node, "BatchNorm parameters that are not constants")
        walk.batchnorm(node, BatchNormSpec(mean=mean, variance=var, gamma=gamma, beta=beta,
                                           eps=float(a.get("epsilon", 1e-5))))
    elif op == "MaxPool":
        found = (list(a.get("kernel_shape", [])), list(a.get("strides", [1, 1])),
                 list(a.get("pads", [0, 0, 0, 0])), a.get("ceil_mode", 0))
        if found != ([2, 2], [2, 2], [0, 0, 0, 0], 0):
            raise _refuse(node, f"max-pooling {found}; only 2x2 stride 2")
        walk.pool(node)
    elif op == "Sign":
        walk.activation(node, hard=False)
    elif op == "BipolarQuant":
        _bipolar_scale(walk, node)
        walk.activation(node, hard=False)
    elif op == "Clip":
        low, high = (constant(n) if n else None for n in (names + ["", ""])[1:3])
        if low is None or high is None or float(low) != -1 or float(high) != 1:
            raise _refuse(node, "Clip other than to [-1, 1]")
        walk.activation(node, hard=True)
    elif op in ("Flatten", "Reshape"):
        if op == "Flatten" and a.get("axis", 1) != 1:
            raise _refuse(node, "Flatten with axis other than 1")
        walk.flatten()
    elif op in ("Softmax", "LogSoftmax"):
        walk.softmax = True
    elif op not in ("Identity", "Dropout"):
        raise _refuse(node, "this operator")


def _check_binary(node: Any, weight: np.ndarray) -> np.ndarray:
    if not np.isin(weight, (-1.0, 1.0)).all():
        raise _refuse(node, "real-valued weights (binarize them with Sign or BipolarQuant)")
    return weight.astype(np.int8)


def _fold_input(walk: _Walk, node: Any, op: str, value: np.ndarray | None) -> None:
    """Fold ``x * c``, ``x / c``, ``x - c``, ``x + c`` (scalar c) into the input coding
    ``(pixel - offset) * scale``."""
    if value is None or value.size != 1 or not np.isfinite(value).all():
        raise _refuse(node, "input arithmetic with a non-scalar or non-constant operand")
    c = Fraction(float(value.reshape(-1)[0]))
    if op in ("Mul", "Div"):
        if c <= 0:
            raise _refuse(node, "input scaling by a non-positive constant")
        walk.scale = walk.scale * c if op == "Mul" else walk.scale / c
    else:  # x + c = (pixel - offset + c / scale) * scale
        walk.offset -= (c if op == "Add" else -c) / walk.scale


def import_onnx(path: Path | str, *, input_shape: tuple[int, int, int],
                input_scale: Fraction | int | str = 1, input_offset: int = 0,
                metadata: dict[str, Any] | None = None) -> PackedNet:
    """The `PackedNet` of the ONNX / QONNX file ``path`` (module docstring) on (H, W, C)
    uint8 images that reach the graph as ``(pixel - input_offset) * input_scale``.

    Raises:
        OnnxImportError: one line naming the file or node that cannot be imported.
    """
    try:
        import onnx
    except ImportError as error:
        raise OnnxImportError("ONNX import needs the onnx package: pip install "
                              "'mrambnn[onnx]'") from error
    path = Path(path)
    if not path.is_file():
        raise OnnxImportError(f"{path} does not exist or is not a file")
    try:
        model = onnx.load(str(path))
        onnx.checker.check_model(model)
    except Exception as error:  # onnx raises several kinds for foreign or truncated files
        first = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise OnnxImportError(f"{path} is not a valid ONNX model: {first}") from None
    walk = _walk(model, Fraction(input_scale), Fraction(input_offset))
    if not walk.specs:
        raise OnnxImportError(f"cannot import the graph: no binary layer; supported: "
                              f"{SUPPORTED}")
    specs = walk.layer_specs()
    channels = int(input_shape[2])
    offset, scale = walk.offset, walk.scale
    if offset.denominator != 1:  # (pixel - offset) * s = (d pixel - d offset) * (s / d)
        scale, levels = scale / offset.denominator, \
            np.arange(256) * offset.denominator - offset.numerator
    else:
        levels = np.arange(256) - int(offset)
    if np.abs(levels).max() > 2**15 - 1:
        raise OnnxImportError(f"cannot import the graph: the input coding (pixel - {offset})"
                              f" * {walk.scale} needs levels beyond 16 bits")
    levels = np.tile(levels, (channels, 1))
    if walk.binary_input:
        levels, scale = np.sign(levels), Fraction(1)
    info = {"importer": "onnx", "source": path.name, "package_version": __version__,
            "onnx_version": onnx.__version__, "input_scale": str(scale)}
    info.update(metadata or {})
    try:
        return build_packed_net(specs, input_shape=input_shape, input_levels=levels,
                                input_scale=scale, metadata=info)
    except ValueError as error:
        raise OnnxImportError(f"cannot import {path.name}: {error}") from None
