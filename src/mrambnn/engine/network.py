"""`PackedNet`: a sequence of packed layers, and inference on uint8 images."""

import hashlib
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from mrambnn.bits import pack_bits, unpack_bits
from mrambnn.engine.conv import Conv, conv_words
from mrambnn.engine.layers import Affine, Dense, Threshold
from mrambnn.engine.ops import binary_dense_preactivation, integer_dense_preactivation
from mrambnn.engine.packed_dense import binary_dense_words

__all__ = ["Layer", "PackedNet", "accuracy", "forward", "forward_from", "layer_output",
           "layer_words", "predict", "unpacked"]

Layer = Dense | Conv


@dataclass(frozen=True, kw_only=True, eq=False)
class PackedNet:
    """A binarized network ready for bit-level inference.

    Attributes:
        layers: the layers in order: convolutions (optional) then dense layers; every one
            but the last ends in a `Threshold`, the last (dense) in an `Affine` head.
        input_shape: (H, W, C) of the uint8 images it classifies.
        input_offset: the first layer sees the integers ``pixel - input_offset``, unless
            ``input_levels`` is given.
        input_levels: (C, 256) integers in +-32767 (None: from ``input_offset``): the
            first layer sees ``input_levels[c, pixel]`` for a pixel of channel c; any
            integer coding of the pixels (an offset per channel, a fixed-point
            rescaling, binarization) is one such table.
        metadata: JSON-able provenance: architecture, data set, training config, seed,
            measured accuracy, package version.
    """

    layers: tuple[Layer, ...]
    input_shape: tuple[int, int, int]
    input_offset: int = 0
    metadata: dict[str, Any] = field(default_factory=dict)
    input_levels: np.ndarray | None = None
    _levels: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.layers:
            raise ValueError("a PackedNet needs at least one layer")
        if not 0 <= self.input_offset <= 255:
            raise ValueError(f"input_offset must be in 0..255 (pixels are uint8), got "
                             f"{self.input_offset}")
        channels = int(self.input_shape[2])
        if self.input_levels is None:
            levels = np.arange(256, dtype=np.int16) - np.int16(self.input_offset)
            levels = np.tile(levels, (channels, 1))
        elif self.input_offset:
            raise ValueError("give input_offset or input_levels, not both")
        else:
            levels = np.asarray(self.input_levels)
            if levels.shape != (channels, 256) or levels.dtype.kind not in "iu":
                raise ValueError(f"input_levels must be integers of shape ({channels}, 256), "
                                 f"got {levels.dtype} {levels.shape}")
            if levels.size and np.abs(levels.astype(np.int64)).max() > 2**15 - 1:
                raise ValueError("input_levels must lie within +-32767")
            levels = np.array(levels, dtype=np.int16)
        levels.setflags(write=False)
        object.__setattr__(self, "_levels", levels)
        for layer in self.layers[:-1]:
            if not isinstance(layer.head, Threshold):
                raise ValueError("every hidden layer must end in a Threshold head")
        if not isinstance(self.layers[-1], Dense) or not isinstance(self.layers[-1].head, Affine):
            raise ValueError("the output layer must be Dense with an Affine head")
        shape: tuple[int, ...] = tuple(self.input_shape)
        for i, layer in enumerate(self.layers):
            if layer.integer_input != (i == 0):
                raise ValueError("exactly the first layer takes integer input")
            if isinstance(layer, Conv):
                if tuple(layer.in_shape) != shape:
                    raise ValueError(f"conv layer {i} expects {layer.in_shape}, gets {shape}")
                shape = layer.out_shape
            else:
                if layer.in_features != int(np.prod(shape)):
                    raise ValueError(f"dense layer {i} expects {layer.in_features} inputs, "
                                     f"gets {int(np.prod(shape))}")
                shape = (layer.out_features,)

    def first_input(self, images: np.ndarray) -> np.ndarray:
        """What the first layer sees: ``input_levels[c, pixel]``, int16, for (N, H, W, C)
        uint8 ``images``; other types are refused (a cast would change the pixels)."""
        images = np.asarray(images)
        if images.dtype != np.uint8:
            raise TypeError(f"images must be uint8 pixels 0..255, got {images.dtype}")
        if self.input_levels is None:
            return images.astype(np.int16) - np.int16(self.input_offset)
        return self._levels[np.arange(self._levels.shape[0]), images]

    @property
    def levels(self) -> np.ndarray:
        """The (C, 256) int16 table of what the first layer sees for each pixel value
        (read-only)."""
        return self._levels

    @property
    def largest_input(self) -> int:
        """The largest |value| the first layer can see."""
        return int(np.abs(self.levels.astype(np.int64)).max(initial=0))

    def content_sha256(self) -> str:
        """SHA-256 of everything that decides the network's outputs: input shape and
        offset, each layer's kind, shape, weights and head (metadata excluded)."""
        digest = hashlib.sha256(repr((tuple(self.input_shape), self.input_offset)).encode())
        if self.input_levels is not None:
            digest.update(self.levels.tobytes())
        for layer in self.layers:
            shape: tuple[Any, ...] = (layer.in_shape, layer.filter_size, layer.pool) \
                if isinstance(layer, Conv) else (layer.in_features,)
            if isinstance(layer, Conv) and layer.padding != layer.filter_size // 2:
                shape += (layer.padding,)
            digest.update(repr((type(layer).__name__, shape, layer.integer_input)).encode())
            head = layer.head
            parts = ((head.threshold, head.direction) if isinstance(head, Threshold)
                     else (head.scale, head.offset))
            for array in (layer.weight_words, *parts):
                digest.update(np.ascontiguousarray(array).tobytes())
        return digest.hexdigest()

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


def forward(
    net: PackedNet, images: np.ndarray, *, keep_hidden: bool = False
) -> tuple[np.ndarray, list[np.ndarray]]:
    """Run the network on images.

    Args:
        images: (N, H, W, C) uint8.
        keep_hidden: also return each hidden layer's output bits.
    Returns:
        scores (N, n_classes) float64, and a list of hidden outputs (bool, +1 = True;
        (N, H, W, C) after a conv layer, (N, out) after a dense one) when ``keep_hidden``.
    """
    return forward_from(net, net.first_input(images), start=0, keep_hidden=keep_hidden)


def _dense_words(layer: Dense, x: np.ndarray) -> np.ndarray:
    """A dense layer's input as (N, n_words(in_features)) packed rows: ``x`` is a
    conv layer's packed map (N, H, W, n_words(C)), or already rows. A map whose channels
    fill whole words is those rows already; others are unpacked and packed again."""
    if x.ndim == 2:
        return x
    channels = layer.in_features // (x.shape[1] * x.shape[2])
    if channels % 64 == 0:
        return x.reshape(len(x), -1)
    bits = unpack_bits(x, channels)
    return pack_bits(bits.reshape(len(x), -1))


def _preactivation(layer: Dense, x: np.ndarray) -> np.ndarray:
    """(N, out) pre-activations of a dense layer on packed bits, or on integers for a
    first layer."""
    if layer.integer_input:
        return integer_dense_preactivation(x.reshape(len(x), -1), layer.weight_words,
                                           layer.in_features)
    return binary_dense_preactivation(_dense_words(layer, x), layer.weight_words,
                                      layer.in_features)


def layer_words(layer: Layer, activation: np.ndarray) -> np.ndarray:
    """A hidden layer's output bits, packed (conv: (N, H', W', n_words(out)) uint64, each
    pixel's channels; dense: (N, n_words(out))), on ``activation``: the previous layer's
    packed output (or the first layer's integer inputs)."""
    if isinstance(layer, Conv):
        return conv_words(layer, activation)
    head = layer.head
    assert isinstance(head, Threshold), "an output layer gives scores, not bits"
    if not layer.integer_input:  # the register-tiled kernel, thresholds folded in
        return binary_dense_words(_dense_words(layer, activation), layer.weight_words,
                                  layer.in_features, head.threshold, head.direction)
    return pack_bits(head.apply(_preactivation(layer, activation)))


def unpacked(layer: Layer, words: np.ndarray) -> np.ndarray:
    """`layer_words`' packed output of ``layer`` as bool bits ((N, H', W', out) or (N,
    out), +1 = True)."""
    return unpack_bits(words, layer.out_features).view(np.bool_)


def layer_output(layer: Layer, activation: np.ndarray) -> np.ndarray:
    """A hidden layer's output bits (bool) on ``activation``: what the previous layer
    gave (bool bits, or the first layer's integer inputs)."""
    if not layer.integer_input:
        activation = pack_bits(activation)
    return unpacked(layer, layer_words(layer, activation))


def forward_from(
    net: PackedNet, activation: np.ndarray, *, start: int, keep_hidden: bool = False,
    packed: bool = False
) -> tuple[np.ndarray, list[np.ndarray]]:
    """`forward` from layer ``start`` on: ``activation`` is what that layer takes (the
    output bits of layer ``start - 1``: bool, or packed as `layer_words` gives them
    where ``packed``; or `PackedNet.first_input` for ``start`` 0).
    Returns the scores and, when ``keep_hidden``, the hidden outputs (bool) from layer
    ``start``. Between layers the bits stay packed."""
    if not 0 <= start < len(net.layers):
        raise ValueError(f"start must be a layer index in 0..{len(net.layers) - 1}")
    if not packed and not net.layers[start].integer_input:
        activation = pack_bits(activation)
    hidden: list[np.ndarray] = []
    for layer in net.layers[start:-1]:
        activation = layer_words(layer, activation)
        if keep_hidden:
            hidden.append(unpacked(layer, activation))
    last = net.layers[-1]
    assert isinstance(last, Dense)  # checked in PackedNet.__post_init__
    scores = last.head.apply(_preactivation(last, activation))
    return scores, hidden


def predict(net: PackedNet, images: np.ndarray, *, batch_size: int = 1000) -> np.ndarray:
    """Predicted labels (N,) int64, computed in batches of ``batch_size`` images."""
    labels = [
        np.argmax(forward(net, images[i : i + batch_size])[0], axis=1)
        for i in range(0, len(images), batch_size)
    ]
    return np.concatenate(labels) if labels else np.empty(0, dtype=np.int64)


def accuracy(net: PackedNet, images: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images whose predicted label equals ``labels`` (N,)."""
    return float(np.mean(predict(net, images) == np.asarray(labels)))
