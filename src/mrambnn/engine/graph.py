"""`GraphNet`: a binarized network as a graph of operations (`mrambnn.engine.graph_nodes`),
for what a chain of conv / dense layers (`PackedNet`) cannot hold: strided and large
convolutions (AlexNet's 11 x 11 stride-4 stem), overlapping and padded pooling, global
average pooling, residual shortcuts (Bi-Real / XNOR-ResNet), real-valued layers.

Evaluation is exact: integer popcounts and integer first-layer sums, real-valued glue
(BatchNorm, shortcuts, averages) in float64 as torch computes it, so that a torch model
run in float64 gives the same hidden bits and predictions. Faults go into the binary
weights (`weight_words`, one array per `BinaryWeights` node, in node order); which
weights sit in the MRAM and which in an error-free memory is `storage`.
"""

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

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
    Sign,
)
from mrambnn.engine.graph_ops import average_pool, conv_output_size, convolve, dense, max_pool

__all__ = ["GraphNet", "StorageRow", "graph_forward", "graph_predict"]

INPUT = "input"
BATCH_BYTES = 24 * 2**20  # below the C allocator's largest threshold for fresh pages


@dataclass(frozen=True)
class StorageRow:
    """One weight-bearing node: its name, operation, number of weights, bits they take
    (1 per binary weight, 64 per float64 one) and memory ('mram' or 'sram')."""

    node: str
    operation: str
    weights: int
    bits: int
    storage: str


def _out_shape(node: GraphNode, shapes: list[tuple[int, ...]]) -> tuple[int, ...]:
    """The shape (without N) ``node`` makes of its inputs' shapes; ValueError if they
    do not fit."""
    first = shapes[0]
    if isinstance(node, Conv2d | MaxPool | AvgPool | GlobalAvgPool) and len(first) != 3:
        raise ValueError(f"{node.name}: needs a (H, W, C) map, gets {first}")
    if isinstance(node, Conv2d):
        if first[2] != node.in_channels:
            raise ValueError(f"{node.name}: weights for {node.in_channels} channels, input "
                             f"has {first[2]}")
        size = [conv_output_size(s, node.kernel, node.stride, node.padding) for s in first[:2]]
        if min(size) < 1:
            raise ValueError(f"{node.name}: a {node.kernel} x {node.kernel} window does not "
                             f"fit the {first[:2]} map")
        return (size[0], size[1], node.weights.rows)
    if isinstance(node, MaxPool | AvgPool):
        padding = node.padding if isinstance(node, MaxPool) else 0
        size = [conv_output_size(s, node.kernel, node.stride, padding) for s in first[:2]]
        if min(size) < 1:
            raise ValueError(f"{node.name}: the pooling window does not fit {first[:2]}")
        return (size[0], size[1], first[2])
    if isinstance(node, Linear):
        if len(first) != 1 or first[0] != node.weights.fan_in:
            raise ValueError(f"{node.name}: weights for {node.weights.fan_in} flat inputs, "
                             f"gets {first}")
        return (node.weights.rows,)
    if isinstance(node, BatchNorm):
        if any(np.shape(a) != (first[-1],) for a in (node.mean, node.var, node.gamma,
                                                       node.beta)):
            raise ValueError(f"{node.name}: BatchNorm arrays must be ({first[-1]},)")
        return first
    if isinstance(node, Add):
        if shapes[1] != first:
            raise ValueError(f"{node.name}: adds {first} and {shapes[1]}")
        return first
    if isinstance(node, GlobalAvgPool):
        return (first[2],)
    if isinstance(node, Flatten):
        return (int(np.prod(first)),)
    return first  # Sign


def _out_kind(node: GraphNode, kinds: list[str]) -> str:
    if isinstance(node, Sign):
        return "bits"
    if isinstance(node, MaxPool | Flatten):
        return kinds[0]
    if isinstance(node, Conv2d | Linear):
        exact = isinstance(node.weights, BinaryWeights) and kinds[0] != "real" \
            and node.bias is None
        return "integer" if exact else "real"
    return "real"  # BatchNorm, AvgPool, GlobalAvgPool, Add


@dataclass(frozen=True, kw_only=True, eq=False)
class GraphNet:
    """A network of `GraphNode` operations in topological order; the last gives the
    class scores.

    Attributes:
        nodes: every node reads values named ``input`` or made by earlier nodes.
        input_shape: (H, W, C) of the uint8 images.
        input_levels: (C, 256) table of what the network sees for a pixel value of each
            channel: integers (int16: exact integer first layers) or float64 (a real
            input coding, e.g. normalised pixels for a real-valued stem).
        metadata: JSON-able provenance.
    """

    nodes: tuple[GraphNode, ...]
    input_shape: tuple[int, int, int]
    input_levels: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    shapes: dict[str, tuple[int, ...]] = field(init=False, repr=False)
    kinds: dict[str, str] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        levels = np.asarray(self.input_levels)
        if levels.shape != (self.input_shape[2], 256) or levels.dtype not in (np.int16,
                                                                              np.float64):
            raise ValueError(f"input_levels must be int16 or float64 ({self.input_shape[2]},"
                             f" 256), got {levels.dtype} {levels.shape}")
        shapes: dict[str, tuple[int, ...]] = {INPUT: tuple(self.input_shape)}
        kinds = {INPUT: "integer" if levels.dtype == np.int16 else "real"}
        if not self.nodes:
            raise ValueError("a GraphNet needs at least one node")
        for node in self.nodes:
            if node.name in shapes:
                raise ValueError(f"node name {node.name!r} is used twice")
            missing = [name for name in node.inputs if name not in shapes]
            if missing:
                raise ValueError(f"{node.name}: reads {missing[0]!r}, which no earlier "
                                 "node makes")
            shapes[node.name] = _out_shape(node, [shapes[name] for name in node.inputs])
            kinds[node.name] = _out_kind(node, [kinds[name] for name in node.inputs])
        last = self.nodes[-1]
        if len(shapes[last.name]) != 1 or kinds[last.name] == "bits":
            raise ValueError(f"the last node ({last.name}) must give flat integer or real "
                             f"class scores, gives {kinds[last.name]} {shapes[last.name]}")
        object.__setattr__(self, "shapes", shapes)
        object.__setattr__(self, "kinds", kinds)

    @property
    def batch_size(self) -> int:
        """Images per batch whose largest value (8 bytes an element) stays within
        `BATCH_BYTES`: larger temporary arrays are fresh pages on every call, and
        faulting them in measured slower than the arithmetic on them (1 to 64)."""
        largest = max(int(np.prod(shape)) for shape in self.shapes.values()) * 8
        return int(min(64, max(1, BATCH_BYTES // largest)))

    @property
    def n_classes(self) -> int:
        return self.shapes[self.nodes[-1].name][0]

    @property
    def binary_nodes(self) -> tuple[Conv2d | Linear, ...]:
        """The nodes whose weights are stored in the MRAM, in order."""
        return tuple(node for node in self.nodes if isinstance(node, Conv2d | Linear)
                     and isinstance(node.weights, BinaryWeights))

    @property
    def weight_words(self) -> tuple[np.ndarray, ...]:
        """Each MRAM node's packed weights (rows, n_words) uint64."""
        return tuple(node.weights.words for node in self.binary_nodes)  # type: ignore[union-attr]

    @property
    def weight_bits(self) -> tuple[int, ...]:
        """Data bits per row of each MRAM node (its fan-in)."""
        return tuple(node.weights.fan_in for node in self.binary_nodes)

    @property
    def n_weights(self) -> int:
        """Binary weights in the MRAM."""
        return sum(words.shape[0] * bits for words, bits in
                   zip(self.weight_words, self.weight_bits, strict=True))

    def storage(self) -> list[StorageRow]:
        """Where every weight-bearing node's weights are kept (BatchNorm parameters:
        4 float64 per channel, error-free)."""
        rows = []
        for node in self.nodes:
            if isinstance(node, Conv2d | Linear):
                count = node.weights.rows * node.weights.fan_in
                binary = isinstance(node.weights, BinaryWeights)
                rows.append(StorageRow(node.name, type(node).__name__, count,
                                       count if binary else 64 * count,
                                       node.weights.storage))
                if node.bias is not None:
                    rows.append(StorageRow(node.name, "bias", len(node.bias),
                                           64 * len(node.bias), "sram"))
            elif isinstance(node, BatchNorm):
                count = 4 * len(node.mean)
                rows.append(StorageRow(node.name, "BatchNorm", count, 64 * count, "sram"))
        return rows

    def content_sha256(self) -> str:
        """SHA-256 of everything that decides the outputs: input shape and coding, and
        each node's kind, name, inputs, settings and arrays (metadata excluded)."""
        digest = hashlib.sha256(repr(tuple(self.input_shape)).encode())
        digest.update(np.ascontiguousarray(self.input_levels).tobytes())
        for node in self.nodes:
            arrays = []
            settings = [type(node).__name__]
            for key, value in vars(node).items():
                if isinstance(value, BinaryWeights):
                    arrays.append(value.words)
                    settings.append(f"{key}=binary/{value.fan_in}")
                elif hasattr(value, "values") and isinstance(value.values, np.ndarray):
                    arrays.append(value.values)
                    settings.append(f"{key}=real")
                elif isinstance(value, np.ndarray):
                    arrays.append(value)
                    settings.append(key)
                else:
                    settings.append(f"{key}={value!r}")
            digest.update(repr(settings).encode())
            for array in arrays:
                digest.update(repr((array.dtype.str, array.shape)).encode())
                digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

    def with_weight_words(self, words: list[np.ndarray] | tuple[np.ndarray, ...]
                          ) -> "GraphNet":
        """The same network with other stored binary weights (one array per MRAM node)."""
        binary = self.binary_nodes
        if len(words) != len(binary):
            raise ValueError(f"expected {len(binary)} weight arrays, got {len(words)}")
        new = {node.name: replace(node, weights=BinaryWeights(
            words=np.asarray(w, np.uint64), fan_in=node.weights.fan_in))
            for node, w in zip(binary, words, strict=True)}
        return replace(self, nodes=tuple(new.get(node.name, node) for node in self.nodes))


def _evaluate(node: GraphNode, args: list[np.ndarray], kinds: list[str]) -> np.ndarray:
    x = args[0]
    if isinstance(node, Conv2d | Linear):
        out = (convolve(x, node.weights, kinds[0], node.kernel, node.stride, node.padding)
               if isinstance(node, Conv2d) else dense(x, node.weights, kinds[0]))
        return out if node.bias is None else out.astype(np.float64) + node.bias
    if isinstance(node, BatchNorm):
        scale, shift = node.scale_shift()
        out = x.astype(np.float64)  # a copy: the input may feed a shortcut too
        out *= scale
        out += shift
        return out
    if isinstance(node, Sign):
        return x >= 0
    if isinstance(node, MaxPool):
        return max_pool(x, node.kernel, node.stride, node.padding)
    if isinstance(node, AvgPool):
        return average_pool(x, node.kernel, node.stride)
    if isinstance(node, GlobalAvgPool):
        return x.astype(np.float64).mean(axis=(1, 2))
    if isinstance(node, Add):
        return x.astype(np.float64) + args[1].astype(np.float64)
    return x.reshape(len(x), -1)  # Flatten


def graph_forward(net: GraphNet, images: np.ndarray, *, keep_hidden: bool = False
                  ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Scores (N, n_classes) float64 of (N, H, W, C) uint8 ``images``, and (when
    ``keep_hidden``) every Sign node's output bits by name."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.shape[1:] != tuple(net.input_shape):
        raise ValueError(f"images must be uint8 (N, {', '.join(map(str, net.input_shape))})"
                         f", got {images.dtype} {images.shape}")
    levels = np.asarray(net.input_levels)
    first = levels[np.arange(levels.shape[0]), images]
    values: dict[str, np.ndarray] = {
        INPUT: first.astype(np.int64) if levels.dtype == np.int16 else first}
    uses = {name: 0 for name in values}
    for node in net.nodes:
        uses[node.name] = 0
        for name in node.inputs:
            uses[name] += 1
    hidden: dict[str, np.ndarray] = {}
    for node in net.nodes:
        values[node.name] = _evaluate(node, [values[name] for name in node.inputs],
                                      [net.kinds[name] for name in node.inputs])
        if keep_hidden and isinstance(node, Sign):
            hidden[node.name] = values[node.name]
        for name in node.inputs:  # free what no later node reads
            uses[name] -= 1
            if uses[name] == 0:
                del values[name]
    return values[net.nodes[-1].name].astype(np.float64), hidden


def graph_predict(net: GraphNet, images: np.ndarray, *, batch_size: int | None = None
                  ) -> np.ndarray:
    """Predicted labels (N,) int64, in batches of ``batch_size`` images (default
    `GraphNet.batch_size`)."""
    batch_size = batch_size or net.batch_size
    labels = [np.argmax(graph_forward(net, images[i:i + batch_size])[0], axis=1)
              for i in range(0, len(images), batch_size)]
    return np.concatenate(labels) if labels else np.empty(0, np.int64)
