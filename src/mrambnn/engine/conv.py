"""Packed k x k convolution (odd filter size k) with zero padding ('same', 'valid' or between),
max-pooling on output bits.

Binary layers: the input map is packed along channels, one group of words per pixel,
and the weights of each filter offset (ky, kx) likewise; the pre-activation is the sum
over offsets of ``C - 2 popcount(x XOR w)``; the first layer (integer pixels) sums exact
integer products instead. Zero padding is a third value beside +-1: a padded input
contributes 0. One compiled kernel does the layer, threshold and pooling: on packed maps
(`conv_words`, the full pass: `mrambnn.engine.packed_conv`), or on bool maps
(`mrambnn.engine.kernels.conv_bits`, which also gives margins, and takes first-layer
inputs too large for 16-bit sums).
Words: a *kernel* is a compiled function; a conv layer has *filters* of *filter size* k.
Max-pooling commutes with the folded threshold:
for a positive BatchNorm scale the pooled bit is the OR of the bits, for a negative one
the AND. Stored weights keep the (ky, kx, channel) order of one row per output channel.
"""

from dataclasses import dataclass

import numpy as np

from mrambnn.bits import n_words, pack_bits, unpack_bits
from mrambnn.engine.kernels import conv_bits
from mrambnn.engine.layers import Threshold
from mrambnn.engine.packed_conv import SumsTooWide, binary_conv_words, integer_conv_words

__all__ = ["Conv", "conv_words", "filter_operand"]


@dataclass(frozen=True, kw_only=True, eq=False)
class Conv:
    """A binary convolution (stride 1, zero padding), then optional 2x2 max-pool.

    Attributes:
        weight_words: (out_channels, n_words(k*k*in_channels)) uint64, patch order
            (ky, kx, channel).
        in_shape: (H, W, C) of the input feature map.
        filter_size: k, odd.
        pool: 2x2 max-pooling (stride 2) after the convolution.
        padding: zeros added on each side, 0 ('valid') to k // 2 ('same', the default):
            the map before pooling is (H + 2 padding - k + 1, W + 2 padding - k + 1).
        integer_input: True for a first layer fed integer pixels.
        head: the folded BatchNorm + sign.
    """

    weight_words: np.ndarray
    in_shape: tuple[int, int, int]
    filter_size: int
    pool: bool
    integer_input: bool
    head: Threshold
    padding: int | None = None

    def __post_init__(self) -> None:
        if self.filter_size % 2 != 1:
            raise ValueError(f"filter_size must be odd, got {self.filter_size}")
        if self.padding is None:
            object.__setattr__(self, "padding", self.filter_size // 2)
        if not 0 <= int(self.padding) <= self.filter_size // 2:  # type: ignore[arg-type]
            raise ValueError(f"padding must be in 0..{self.filter_size // 2}, got "
                             f"{self.padding}")
        if min(self.conv_shape[:2]) < 1:
            raise ValueError(f"a {self.filter_size} x {self.filter_size} filter with padding "
                             f"{self.padding} does not fit a {self.in_shape[:2]} map")
        w = self.weight_words
        if w.dtype != np.uint64 or w.ndim != 2 or w.shape[1] != n_words(self.in_features):
            raise ValueError(f"weight_words must be uint64 (out, {n_words(self.in_features)})")
        if not isinstance(self.head, Threshold) or self.head.threshold.size != w.shape[0]:
            raise ValueError("a Conv layer needs a Threshold head with one entry per channel")
        if self.pool and (self.conv_shape[0] % 2 or self.conv_shape[1] % 2):
            raise ValueError(f"cannot 2x2-pool a {self.conv_shape[:2]} map")

    @property
    def in_features(self) -> int:
        """Weights per output channel, k*k*C."""
        return self.filter_size * self.filter_size * self.in_shape[2]

    @property
    def out_features(self) -> int:
        return int(self.weight_words.shape[0])

    @property
    def conv_shape(self) -> tuple[int, int, int]:
        """(H', W', out) of the map before pooling."""
        h, w, _ = self.in_shape
        grow = 2 * int(self.padding or 0) - self.filter_size + 1
        return (h + grow, w + grow, self.out_features)

    @property
    def out_shape(self) -> tuple[int, int, int]:
        h, w, o = self.conv_shape
        return (h // 2, w // 2, o) if self.pool else (h, w, o)

    @property
    def n_weights(self) -> int:
        return self.out_features * self.in_features


def filter_operand(layer: Conv, words: np.ndarray | None = None) -> np.ndarray:
    """The filters ``words`` (default: the layer's own weights; rows may be a subset of
    the output channels) in the form the conv kernels take: (out, k, k, C) +-1 int64 for
    a first layer, (out, k, k, n_words(C)) uint64 packed per offset otherwise."""
    k, c = layer.filter_size, layer.in_shape[2]
    words = layer.weight_words if words is None else words
    filter_bits = unpack_bits(words, layer.in_features).reshape(-1, k, k, c)
    return filter_bits.astype(np.int64) * 2 - 1 if layer.integer_input else pack_bits(filter_bits)


def conv_words(layer: Conv, x: np.ndarray) -> np.ndarray:
    """Output bits (N, H', W', n_words(out_channels)) uint64 of ``layer``, each pixel's
    channels packed, on ``x``: packed the same way, (N, H, W, n_words(C)) uint64, for a
    binary layer; integers (N, H, W, C) for a first layer."""
    head = layer.head
    padding = int(layer.padding or 0)
    filters = filter_operand(layer)
    if not layer.integer_input:
        return binary_conv_words(x, filters, layer.in_shape[2], head.threshold,
                                 head.direction, pool=layer.pool, padding=padding)
    try:
        return integer_conv_words(x, filters, head.threshold, head.direction,
                                  pool=layer.pool, padding=padding)
    except SumsTooWide:
        return pack_bits(conv_bits(x, filters, layer.in_shape[2], head.threshold,
                                   head.direction, pool=layer.pool, integer=True,
                                   padding=padding))
