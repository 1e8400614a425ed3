"""Integer dot products of +-1 weights with packed or integer inputs.

XNOR-popcount: for +-1 vectors x, w of length n stored as bits, the number of
disagreeing positions is ``d = popcount(x XOR w)`` and ``x . w = n - 2 d``. Padding bits
are 0 in both operands, so they never disagree.
"""

import numpy as np

from mrambnn.bits import pack_bits, unpack_signs
from mrambnn.engine.kernels import dense_popcount
from mrambnn.engine.layers import Dense

__all__ = ["binary_dense_preactivation", "dense_preactivation", "integer_dense_preactivation"]


def binary_dense_preactivation(
    x_words: np.ndarray, weight_words: np.ndarray, in_features: int
) -> np.ndarray:
    """Pre-activations of +-1 inputs against +-1 weights by XNOR-popcount.

    Args:
        x_words: (N, n_words) uint64 packed input activations.
        weight_words: (out, n_words) uint64 packed weights.
        in_features: n, the number of valid bits per row.
    Returns:
        (N, out) int32, each entry in [-n, n] with the parity of n.
    """
    return dense_popcount(x_words, weight_words, in_features)


def integer_dense_preactivation(
    x: np.ndarray, weight_words: np.ndarray, in_features: int
) -> np.ndarray:
    """Pre-activations of integer inputs (pixels) against +-1 weights.

    The product runs in float32 BLAS when every partial sum stays below 2^24 (so it is
    exact), else in float64 (exact below 2^53).

    Args:
        x: (N, in_features) integer inputs (uint8 pixels).
        weight_words: (out, n_words) uint64 packed weights.
    Returns:
        (N, out) int32 (float32 path) or int64.
    """
    max_abs = float(np.abs(x).max()) if x.size else 0.0
    dtype = np.float32 if max_abs * in_features < 2**24 else np.float64
    signs = unpack_signs(weight_words, in_features).astype(dtype)  # (out, in)
    product = np.matmul(x.astype(dtype), signs.T)  # (N, out)
    # exact integers: no rounding needed
    return product.astype(np.int32 if dtype is np.float32 else np.int64)


def dense_preactivation(layer: Dense, x: np.ndarray) -> np.ndarray:
    """Pre-activations (N, out) of ``layer`` on flattened inputs ``x`` (N, in): integers
    for a first layer (`integer_dense_preactivation`), else output bits of the layer
    below (bool, +1 = True), packed here (`binary_dense_preactivation`)."""
    if layer.integer_input:
        return integer_dense_preactivation(x, layer.weight_words, layer.in_features)
    return binary_dense_preactivation(pack_bits(x), layer.weight_words, layer.in_features)
