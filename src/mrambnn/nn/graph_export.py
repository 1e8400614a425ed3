"""Export a torch BNN with any topology (residual shortcuts, strides, average pooling,
real-valued layers) to a `GraphNet`, operation by operation (torch.fx).

Mapped: mrambnn's ``BinaryConv2d`` / ``BinaryLinear`` (binary weights, in the MRAM),
``nn.Conv2d`` / ``nn.Linear`` (real weights and bias, error-free), ``BatchNorm1d/2d``
(eval statistics), ``SignActivation``, ``MaxPool2d``, ``AvgPool2d`` (no padding),
``AdaptiveAvgPool2d(1)``, ``Flatten`` / ``torch.flatten`` / ``view`` / ``reshape`` to
(N, -1), ``+`` of two values, ``Identity`` and ``Dropout``. Anything else is refused
with one line naming the operation. Square kernels, dilation 1, groups 1, floor mode.
Dense weights after a flattened map are permuted from torch's (C, H, W) order to the
engine's (H, W, C).
"""

import operator
from typing import Any

import numpy as np
import torch
import torch.fx as fx
from torch import nn
from torch.fx.passes.shape_prop import ShapeProp

from mrambnn.bits import pack_signs
from mrambnn.engine.graph import INPUT, GraphNet
from mrambnn.engine.graph_nodes import (
    Add,
    AvgPool,
    BatchNorm,
    BinaryWeights,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    GraphNode,
    Linear,
    MaxPool,
    RealWeights,
    Sign,
)
from mrambnn.nn.layers import BinaryConv2d, BinaryLinear, SignActivation

__all__ = ["GraphExportError", "export_graph"]


class GraphExportError(ValueError):
    """A module the graph exporter cannot map exactly."""


class _Tracer(fx.Tracer):
    def is_leaf_module(self, m: nn.Module, module_qualified_name: str) -> bool:
        if isinstance(m, BinaryConv2d | BinaryLinear | SignActivation):
            return True
        return super().is_leaf_module(m, module_qualified_name)


def _square(where: str, name: str, value: Any) -> int:
    pair = tuple(value) if isinstance(value, tuple | list) else (value, value)
    if len(pair) != 2 or pair[0] != pair[1]:
        raise GraphExportError(f"cannot export {where}: a non-square {name} {value}")
    return int(pair[0])


def _weights(module: nn.Conv2d | nn.Linear, binary: bool, order: np.ndarray | None = None
             ) -> BinaryWeights | RealWeights:
    """The module's weights as rows, their columns taken in ``order`` when given."""
    w = module.weight.detach().double()
    if w.dim() == 4:  # (out, C, k, k) -> (out, k, k, C)
        w = w.permute(0, 2, 3, 1)
    rows = w.reshape(w.shape[0], -1).numpy()
    if order is not None:
        rows = rows[:, order]
    if binary:
        return BinaryWeights(words=pack_signs(np.where(rows >= 0, 1, -1)),
                             fan_in=rows.shape[1])
    return RealWeights(values=np.ascontiguousarray(rows))


def _bias(module: nn.Module) -> np.ndarray | None:
    bias = getattr(module, "bias", None)
    return None if bias is None else bias.detach().double().numpy().copy()


def _conv(where: str, name: str, source: str, module: nn.Conv2d) -> Conv2d:
    if module.groups != 1 or _square(where, "dilation", module.dilation) != 1 \
            or module.padding_mode != "zeros" or isinstance(module.padding, str):
        raise GraphExportError(f"cannot export {where}: groups, dilation, string or "
                               "non-zero padding")
    return Conv2d(name=name, inputs=(source,), weights=_weights(
        module, isinstance(module, BinaryConv2d)), bias=_bias(module),
        kernel=_square(where, "kernel", module.kernel_size),
        stride=_square(where, "stride", module.stride),
        padding=_square(where, "padding", module.padding))


def _linear(name: str, source: str, module: nn.Linear, chw: tuple[int, ...] | None
            ) -> Linear:
    order = None
    if chw is not None:  # inputs flattened from a (C, H, W) map: reorder to (H, W, C)
        c, h, w = chw
        order = np.arange(c * h * w).reshape(c, h, w).transpose(1, 2, 0).reshape(-1)
    weights = _weights(module, isinstance(module, BinaryLinear), order)
    return Linear(name=name, inputs=(source,), weights=weights, bias=_bias(module))


def _batchnorm(where: str, name: str, source: str, module: nn.Module) -> BatchNorm:
    if module.running_mean is None or module.running_var is None:
        raise GraphExportError(f"cannot export {where}: a BatchNorm without running "
                               "statistics")
    count = module.num_features

    def array(t: torch.Tensor | None, default: float) -> np.ndarray:
        return np.full(count, default) if t is None else t.detach().double().numpy().copy()
    return BatchNorm(name=name, inputs=(source,), mean=array(module.running_mean, 0.0),
                     var=array(module.running_var, 1.0), gamma=array(module.weight, 1.0),
                     beta=array(module.bias, 0.0), eps=float(module.eps))


def export_graph(model: nn.Module, *, input_shape: tuple[int, int, int],
                 input_levels: np.ndarray, metadata: dict[str, Any] | None = None
                 ) -> GraphNet:
    """``model`` (eval mode is set) as a `GraphNet` for (H, W, C) ``input_shape`` uint8
    images that the model sees as ``input_levels[c, pixel]`` ((C, 256) int16 or float64,
    NCHW). GraphExportError names the first operation it cannot map."""
    model.eval()
    try:
        graph = _Tracer().trace(model)
    except Exception as error:  # torch.fx raises many kinds on untraceable code
        raise GraphExportError(f"cannot trace the module with torch.fx: "
                               f"{type(error).__name__}: {error}".splitlines()[0]) from None
    module_graph = fx.GraphModule(model, graph)
    h, w, c = input_shape
    dtype = next((p.dtype for p in model.parameters()), torch.float32)
    with torch.no_grad():
        ShapeProp(module_graph).propagate(torch.zeros(1, c, h, w, dtype=dtype))
    modules = dict(model.named_modules())
    nodes: list[GraphNode] = []
    names: dict[fx.Node, str] = {}
    flat_from: dict[str, tuple[int, ...]] = {}  # flattened values: the (C, H, W) map
    for node in module_graph.graph.nodes:
        if node.op == "placeholder":
            names[node] = INPUT
            continue
        if node.op == "output":
            break
        sources = [names[a] for a in node.args if isinstance(a, fx.Node)]
        name = node.name
        where = (f"module {node.target} ({type(modules[node.target]).__name__})"
                 if node.op == "call_module" else f"operation {node.name} ({node.target})")
        made = _map(node, where, name, sources, modules, flat_from)
        if made is None:  # a pass-through
            names[node] = sources[0]
            continue
        if isinstance(made, Flatten):
            shape = tuple(node.args[0].meta["tensor_meta"].shape[1:])
            if len(shape) == 3 and shape[1:] != (1, 1):
                flat_from[name] = shape
        nodes.append(made)
        names[node] = name
    return GraphNet(nodes=tuple(nodes), input_shape=input_shape,
                    input_levels=np.asarray(input_levels), metadata=dict(metadata or {}))


def _map(node: fx.Node, where: str, name: str, sources: list[str],
         modules: dict[str, nn.Module], flat_from: dict[str, tuple[int, ...]]
         ) -> GraphNode | None:
    """The graph node for one fx node (None: it passes its input through)."""
    if node.op == "call_module":
        module = modules[str(node.target)]
        if isinstance(module, nn.Conv2d):
            return _conv(where, name, sources[0], module)
        if isinstance(module, nn.Linear):
            return _linear(name, sources[0], module, flat_from.get(sources[0]))
        if isinstance(module, nn.BatchNorm1d | nn.BatchNorm2d):
            return _batchnorm(where, name, sources[0], module)
        if isinstance(module, SignActivation):
            return Sign(name=name, inputs=(sources[0],))
        if isinstance(module, nn.MaxPool2d):
            if module.ceil_mode or _square(where, "dilation", module.dilation) != 1:
                raise GraphExportError(f"cannot export {where}: ceil mode or dilation")
            kernel = _square(where, "kernel", module.kernel_size)
            return MaxPool(name=name, inputs=(sources[0],), kernel=kernel,
                           stride=_square(where, "stride", module.stride or kernel),
                           padding=_square(where, "padding", module.padding))
        if isinstance(module, nn.AvgPool2d):
            if module.ceil_mode or _square(where, "padding", module.padding):
                raise GraphExportError(f"cannot export {where}: padding or ceil mode")
            kernel = _square(where, "kernel", module.kernel_size)
            return AvgPool(name=name, inputs=(sources[0],), kernel=kernel,
                           stride=_square(where, "stride", module.stride or kernel))
        if isinstance(module, nn.AdaptiveAvgPool2d):
            if _square(where, "output size", module.output_size) != 1:
                raise GraphExportError(f"cannot export {where}: output size other than 1")
            return GlobalAvgPool(name=name, inputs=(sources[0],))
        if isinstance(module, nn.Flatten):
            return Flatten(name=name, inputs=(sources[0],))
        if isinstance(module, nn.Identity | nn.Dropout):
            return None
        raise GraphExportError(f"cannot export {where}: this module")
    target = node.target
    if target in (operator.add, torch.add) or target in ("add", "__add__"):
        if len(sources) != 2 or len(node.args) != 2 or node.kwargs:
            raise GraphExportError(f"cannot export {where}: only the sum of two values")
        return Add(name=name, inputs=(sources[0], sources[1]))
    if target in (torch.flatten, "flatten", "view", "reshape"):
        shape = node.meta["tensor_meta"].shape
        if len(shape) != 2:
            raise GraphExportError(f"cannot export {where}: a reshape other than (N, -1)")
        return Flatten(name=name, inputs=(sources[0],))
    if target in ("contiguous",):
        return None
    raise GraphExportError(f"cannot export {where}: this operation")
