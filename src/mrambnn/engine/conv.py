"""Packed 3x3 (any odd k) convolution with zero padding, max-pooling on output bits.

Patches are gathered im2col-style in (ky, kx, channel) order and packed into words.
Zero padding is a third value beside +-1: a padded input contributes 0 to the dot
product. Since a padded input bit is stored as 0, ``x XOR w`` equals ``w`` there, so
the disagreements over the valid inputs are ``popcount(x XOR w) - popcount(w AND NOT
valid)``; the correction depends only on (output position, channel) and is computed once
per layer call. Max-pooling commutes with the folded threshold: for a positive BatchNorm
scale the pooled bit is the OR of the bits, for a negative one the AND.
"""

from dataclasses import dataclass

import numpy as np

from mrambnn.bits import n_words, pack_bits, popcount
from mrambnn.engine.layers import Threshold
from mrambnn.engine.ops import binary_dense_preactivation, integer_dense_preactivation

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


def im2col(x: np.ndarray, kernel: int) -> tuple[np.ndarray, np.ndarray]:
    """Zero-padded patches of a feature map.

    Args:
        x: (N, H, W, C) values (bool bits or integers).
    Returns:
        patches (N, H*W, k*k*C) in (ky, kx, channel) order, and the valid mask
        (H*W, k*k*C) bool (False where the patch reaches into the padding).
    """
    n, h, w, c = x.shape
    r = kernel // 2
    padded = np.zeros((n, h + 2 * r, w + 2 * r, c), dtype=x.dtype)
    padded[:, r : r + h, r : r + w] = x
    windows = np.lib.stride_tricks.sliding_window_view(padded, (kernel, kernel), axis=(1, 2))
    patches = windows.transpose(0, 1, 2, 4, 5, 3).reshape(n, h * w, kernel * kernel * c)
    inside = np.zeros((h + 2 * r, w + 2 * r), dtype=bool)
    inside[r : r + h, r : r + w] = True
    valid = np.lib.stride_tricks.sliding_window_view(inside, (kernel, kernel))
    valid = np.repeat(valid.reshape(h * w, kernel * kernel), c, axis=1)
    return patches, valid


def _pool_bits(bits: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """2x2 pooling of (N, H, W, C) bits: OR where direction is +1, AND where -1."""
    n, h, w, c = bits.shape
    blocks = bits.reshape(n, h // 2, 2, w // 2, 2, c)
    any_set = blocks.any(axis=(2, 4))
    all_set = blocks.all(axis=(2, 4))
    return np.where(direction > 0, any_set, all_set)


def conv_forward(layer: Conv, x: np.ndarray) -> np.ndarray:
    """Output bits (N, H', W', out_channels) bool of ``layer`` on ``x`` (N, H, W, C).

    ``x`` is bool (+1 = True) for a binary layer or integers for a first layer.
    """
    n = len(x)
    h, w, _ = layer.in_shape
    patches, valid = im2col(x, layer.kernel)  # (N, P, K), (P, K)
    flat = patches.reshape(n * h * w, layer.in_features)
    if layer.integer_input:
        a = integer_dense_preactivation(flat, layer.weight_words, layer.in_features)
        a = a.reshape(n, h * w, layer.out_features)
    else:
        raw = binary_dense_preactivation(pack_bits(flat), layer.weight_words, layer.in_features)
        disagree = (layer.in_features - raw.reshape(n, h * w, -1)) // 2
        valid_words = pack_bits(valid)  # (P, words)
        outside = popcount(layer.weight_words[None, :, :] & ~valid_words[:, None, :])
        correction = outside.sum(axis=-1, dtype=np.int32)  # (P, out)
        n_valid = valid.sum(axis=1, dtype=np.int32)[:, None]  # (P, 1)
        a = n_valid - 2 * (disagree - correction)
    bits = layer.head.apply(a).reshape(n, h, w, layer.out_features)
    return _pool_bits(bits, layer.head.direction) if layer.pool else bits
