"""`PackedNet`: a sequence of packed layers, and inference on uint8 images."""

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mrambnn.bits import pack_bits
from mrambnn.engine.layers import Affine, Dense, Threshold
from mrambnn.engine.ops import binary_dense_preactivation, integer_dense_preactivation

__all__ = ["PackedNet", "accuracy", "forward", "predict"]

Layer = Dense


@dataclass(frozen=True, kw_only=True, eq=False)
class PackedNet:
    """A binarized network ready for bit-level inference.

    Attributes:
        layers: the layers in order; every one but the last ends in a `Threshold`, the
            last in an `Affine` head giving class scores.
        input_shape: (H, W, C) of the uint8 images it classifies; they are flattened in
            H, W, C order before the first dense layer.
        metadata: JSON-able provenance: architecture, data set, training config, seed,
            measured accuracy, package version.
    """

    layers: tuple[Layer, ...]
    input_shape: tuple[int, int, int]
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a PackedNet needs at least one layer")
        for layer in self.layers[:-1]:
            if not isinstance(layer.head, Threshold):
                raise ValueError("every hidden layer must end in a Threshold head")
        if not isinstance(self.layers[-1].head, Affine):
            raise ValueError("the output layer must end in an Affine head")
        expected = int(np.prod(self.input_shape))
        for layer in self.layers:
            if layer.in_features != expected:
                raise ValueError(f"layer expects {layer.in_features} inputs, gets {expected}")
            expected = layer.out_features

    @property
    def weight_words(self) -> tuple[np.ndarray, ...]:
        """Each layer's packed weights (out, n_words) uint64: what the MRAM stores."""
        return tuple(layer.weight_words for layer in self.layers)

    @property
    def n_weights(self) -> int:
        """Total number of binary weights."""
        return sum(layer.n_weights for layer in self.layers)

    @property
    def n_classes(self) -> int:
        return self.layers[-1].out_features

    def with_weight_words(self, words: list[np.ndarray] | tuple[np.ndarray, ...]) -> "PackedNet":
        """The same network with other stored weights (e.g. read back from a faulty MRAM)."""
        if len(words) != len(self.layers):
            raise ValueError(f"expected {len(self.layers)} weight arrays, got {len(words)}")
        layers = tuple(
            replace(layer, weight_words=w) for layer, w in zip(self.layers, words, strict=True)
        )
        return replace(self, layers=layers)


def _layer_preactivation(layer: Layer, activation: np.ndarray) -> np.ndarray:
    if layer.integer_input:
        return integer_dense_preactivation(activation, layer.weight_words, layer.in_features)
    return binary_dense_preactivation(activation, layer.weight_words, layer.in_features)


def forward(
    net: PackedNet, images: np.ndarray, *, keep_hidden: bool = False
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run the network on images.

    Args:
        images: (N, H, W, C) uint8 (or (N, H*W*C)).
        keep_hidden: also return each hidden layer's output bits.
    Returns:
        scores (N, n_classes) float64, and a list of (N, out) bool hidden outputs
        (+1 = True) when ``keep_hidden``, else an empty list.
    """
    x = np.asarray(images).reshape(len(images), -1)
    hidden: list[np.ndarray] = []
    activation: np.ndarray = x
    for layer in net.layers[:-1]:
        bits = layer.head.apply(_layer_preactivation(layer, activation))  # (N, out) bool
        if keep_hidden:
            hidden.append(bits)
        activation = pack_bits(bits)
    last = net.layers[-1]
    scores = last.head.apply(_layer_preactivation(last, activation))
    return scores, hidden


def predict(net: PackedNet, images: np.ndarray, *, batch_size: int = 2000) -> np.ndarray:
    """Predicted labels (N,) int64, computed in batches of ``batch_size`` images."""
    labels = [
        np.argmax(forward(net, images[i : i + batch_size])[0], axis=1)
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(labels) if labels else np.empty(0, dtype=np.int64)


def accuracy(net: PackedNet, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images whose predicted label equals ``labels`` (N,)."""
    return float(np.mean(predict(net, images) == np.asarray(labels)))
