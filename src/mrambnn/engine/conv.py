"""Packed k x k convolution (odd k) with zero padding, max-pooling on output bits.

Binary layers: the input map is packed along channels, one group of words per pixel,
and the weights of each kernel offset (ky, kx) likewise; the pre-activation is the sum
over offsets of ``C - 2 popcount(x XOR w)``. Zero padding is a third value beside +-1: a
padded input contributes 0, so each offset only adds into the output rectangle whose
neighbour lies inside the map. The first layer (integer pixels) uses im2col with zero
padding and an exact integer product. Max-pooling commutes with the folded threshold:
for a positive BatchNorm scale the pooled bit is the OR of the bits, for a negative one
the AND. Stored weights keep the (ky, kx, channel) order of one row per output channel.
"""

from dataclasses import dataclass

import numpy as np

from mrambnn.bits import n_words, pack_bits, popcount, unpack_bits
from mrambnn.engine.layers import Threshold
from mrambnn.engine.ops import integer_dense_preactivation

_CHUNK_BYTES = 32 << 20

__all__ = ["Conv", "conv_forward", "im2col"]


@dataclass(frozen=True, kw_only=True, eq=False)
class Conv:
    """A binary convolution (stride 1, 'same' zero padding), then optional 2x2 max-pool.

    Attributes:
        weight_words: (out_channels, n_words(k*k*in_channels)) uint64, patch order
            (ky, kx, channel).
        in_shape: (H, W, C) of the input feature map.
        kernel: k, odd.
        pool: 2x2 max-pooling (stride 2) after the convolution.
        integer_input: True for a first layer fed integer pixels.
        head: the folded BatchNorm + sign.
    """

    weight_words: np.ndarray
    in_shape: tuple[int, int, int]
    kernel: int
    pool: bool
    integer_input: bool
    head: Threshold

    def __post_init__(self) -> None:
        if self.kernel % 2 != 1:
            raise ValueError(f"kernel must be odd, got {self.kernel}")
        w = self.weight_words
        if w.dtype != np.uint64 or w.ndim != 2 or w.shape[1] != n_words(self.in_features):
            raise ValueError(f"weight_words must be uint64 (out, {n_words(self.in_features)})")
        if not isinstance(self.head, Threshold) or self.head.threshold.size != w.shape[0]:
            raise ValueError("a Conv layer needs a Threshold head with one entry per channel")
        if self.pool and (self.in_shape[0] % 2 or self.in_shape[1] % 2):
            raise ValueError(f"cannot 2x2-pool a {self.in_shape[:2]} map")

    @property
    def in_features(self) -> int:
        """Weights per output channel, k*k*C."""
        return self.kernel * self.kernel * self.in_shape[2]

    @property
    def out_features(self) -> int:
        return int(self.weight_words.shape[0])

    @property
    def out_shape(self) -> tuple[int, int, int]:
        h, w, _ = self.in_shape
        return (h // 2, w // 2, self.out_features) if self.pool else (h, w, self.out_features)

    @property
    def n_weights(self) -> int:
        return self.out_features * self.in_features


def im2col(x: np.ndarray, kernel: int) -> np.ndarray:
    """Zero-padded patches of a feature map.

    Args:
        x: (N, H, W, C) values.
    Returns:
        patches (N, H*W, k*k*C) in (ky, kx, channel) order; 0 where a patch reaches into
        the padding.
    """
    n, h, w, c = x.shape
    r = kernel // 2
    padded = np.zeros((n, h + 2 * r, w + 2 * r, c), dtype=x.dtype)
    padded[:, r : r + h, r : r + w] = x
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel, kernel), axis=(1, 2))
    return windows.transpose(0, 1, 2, 4, 5, 3).reshape(n, h * w, kernel * kernel * c)


def _pool_bits(bits: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """2x2 pooling of (N, H, W, C) bits: OR where direction is +1, AND where -1."""
    n, h, w, c = bits.shape
    blocks = bits.reshape(n, h // 2, 2, w // 2, 2, c)
    any_set = blocks.any(axis=(2, 4))
    all_set = blocks.all(axis=(2, 4))
    return np.where(direction > 0, any_set, all_set)


def _binary_conv_preactivation(layer: Conv, bits: np.ndarray) -> np.ndarray:
    """Pre-activations (N, H, W, out) int32 of a binary conv on bits (N, H, W, C)."""
    n, h, w, c = bits.shape
    k, r, n_out = layer.kernel, layer.kernel // 2, layer.out_features
    x_words = pack_bits(bits)  # (N, H, W, Wc)
    kernel_bits = unpack_bits(layer.weight_words, layer.in_features).reshape(n_out, k, k, c)
    w_words = pack_bits(kernel_bits)  # (out, k, k, Wc)
    a = np.zeros((n, h, w, n_out), dtype=np.int32)
    per_image = max(1, h * w * n_out * x_words.shape[-1] * 8)
    chunk = max(1, _CHUNK_BYTES // per_image)
    for ky in range(k):
        for kx in range(k):
            dy, dx = ky - r, kx - r
            y0, y1, x0, x1 = max(0, -dy), min(h, h - dy), max(0, -dx), min(w, w - dx)
            if y0 >= y1 or x0 >= x1:
                continue
            weights = w_words[None, None, None, :, ky, kx, :]  # (1, 1, 1, out, Wc)
            for s in range(0, n, chunk):
                window = x_words[s : s + chunk, y0 + dy : y1 + dy, x0 + dx : x1 + dx, None, :]
                disagree = popcount(window ^ weights).sum(axis=-1, dtype=np.int32)
                a[s : s + chunk, y0:y1, x0:x1, :] += c - 2 * disagree
    return a


def conv_forward(layer: Conv, x: np.ndarray) -> np.ndarray:
    """Output bits (N, H', W', out_channels) bool of ``layer`` on ``x`` (N, H, W, C).

    ``x`` is bool (+1 = True) for a binary layer or integers for a first layer.
    """
    n = len(x)
    h, w, _ = layer.in_shape
    if layer.integer_input:
        patches = im2col(x, layer.kernel)  # (N, P, K), zeros in the padding
        flat = patches.reshape(n * h * w, layer.in_features)
        a = integer_dense_preactivation(flat, layer.weight_words, layer.in_features)
    else:
        a = _binary_conv_preactivation(layer, x)
    bits = layer.head.apply(a).reshape(n, h, w, layer.out_features)
    return _pool_bits(bits, layer.head.direction) if layer.pool else bits
