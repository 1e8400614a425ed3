"""Save and load a `GraphNet` as a NumPy ``.npz`` file, never unpickling; and load either
kind of network file (`load_network`).

Layout: ``meta`` holds a JSON string (format tag, input shape, each node's operation,
name, inputs and settings, metadata); ``node{i}_{field}`` hold the arrays (binary weights
as their uint64 words). Loading uses ``allow_pickle=False`` and rebuilds every node
through its checks, so a corrupt or foreign file gives a `ModelFileError`.
"""

import json
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.engine.graph import GraphNet
from mrambnn.engine.graph_nodes import (
    Add,
    AvgPool,
    BatchNorm,
    BinaryWeights,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Linear,
    MaxPool,
    RealWeights,
    Sign,
)
from mrambnn.engine.network import PackedNet
from mrambnn.engine.serialize import (
    FORMAT,
    ModelFileError,
    load_packed_net,
    read_model_arrays,
    read_model_meta,
    write_npz_atomic,
)

__all__ = ["GRAPH_FORMAT", "load_graph_net", "load_network", "save_graph_net"]

GRAPH_FORMAT = "mrambnn.graphnet/1"
_OPERATIONS = {cls.__name__: cls for cls in (Add, AvgPool, BatchNorm, Conv2d, Flatten,
                                              GlobalAvgPool, Linear, MaxPool, Sign)}


def save_graph_net(net: GraphNet, path: Path) -> None:
    """Write ``net`` to ``path`` (.npz) atomically."""
    arrays: dict[str, np.ndarray] = {"input_levels": np.asarray(net.input_levels)}
    specs = []
    for i, node in enumerate(net.nodes):
        spec: dict[str, Any] = {"op": type(node).__name__}
        for key, value in vars(node).items():
            if isinstance(value, BinaryWeights):
                arrays[f"node{i}_words"] = value.words
                spec["weights"] = {"storage": "mram", "fan_in": value.fan_in}
            elif isinstance(value, RealWeights):
                arrays[f"node{i}_values"] = value.values
                spec["weights"] = {"storage": "sram"}
            elif isinstance(value, np.ndarray):
                arrays[f"node{i}_{key}"] = value
                spec.setdefault("arrays", []).append(key)
            elif value is not None:
                spec[key] = list(value) if isinstance(value, tuple) else value
        specs.append(spec)
    meta = {"format": GRAPH_FORMAT, "input_shape": list(net.input_shape), "nodes": specs,
            "metadata": net.metadata}
    arrays["meta"] = np.array(json.dumps(meta))
    write_npz_atomic(Path(path), arrays)


def _node(i: int, spec: dict[str, Any], arrays: dict[str, np.ndarray]) -> Any:
    kind = _OPERATIONS.get(spec.get("op", ""))
    if kind is None:
        raise ValueError(f"node {i} has unknown operation {spec.get('op')!r}")
    fields: dict[str, Any] = {key: value for key, value in spec.items()
                              if key not in ("op", "weights", "arrays")}
    fields["inputs"] = tuple(fields["inputs"])
    for key in spec.get("arrays", []):
        fields[key] = arrays[f"node{i}_{key}"]
    weights = spec.get("weights")
    if weights is not None:
        fields["weights"] = (
            BinaryWeights(words=arrays[f"node{i}_words"], fan_in=int(weights["fan_in"]))
            if weights["storage"] == "mram" else RealWeights(values=arrays[f"node{i}_values"]))
    return kind(**fields)


def load_graph_net(path: Path) -> GraphNet:
    """Read a `GraphNet` written by `save_graph_net`; `ModelFileError` otherwise."""
    path = Path(path)
    arrays = read_model_arrays(path)
    meta = read_model_meta(path, arrays, GRAPH_FORMAT, "graph network")
    try:
        nodes = tuple(_node(i, spec, arrays) for i, spec in enumerate(meta["nodes"]))
        h, w, c = (int(v) for v in meta["input_shape"])
        return GraphNet(nodes=nodes, input_shape=(h, w, c),
                        input_levels=arrays["input_levels"],
                        metadata=dict(meta.get("metadata", {})))
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        raise ModelFileError(f"{path} is a corrupt mrambnn graph network: {error}") from error


def load_network(path: Path) -> PackedNet | GraphNet:
    """A chain (`PackedNet`) or graph (`GraphNet`) network file, by its format tag."""
    path = Path(path)
    arrays = read_model_arrays(path)
    try:
        tag = json.loads(str(arrays["meta"])).get("format")
    except (KeyError, json.JSONDecodeError, AttributeError) as error:
        raise ModelFileError(f"{path} has no valid mrambnn metadata") from error
    if tag == GRAPH_FORMAT:
        return load_graph_net(path)
    if tag == FORMAT:
        return load_packed_net(path)
    raise ModelFileError(f"{path} is not a mrambnn network ({FORMAT} or {GRAPH_FORMAT})")
