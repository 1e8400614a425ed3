"""The arithmetic of `GraphNet` nodes: strided, padded convolutions by patches (im2col),
pooling of any window and stride, exact where the values are integers.

Binary convolutions on bits: each pixel's channels are packed into words and a compiled
kernel (`mrambnn.engine.graph_kernels`) sums the XNOR-popcounts of every window, a
padded position contributing exactly 0. Integer inputs: products in float32 BLAS when no partial
sum can reach 2^24 (then exact), else float64 (exact below 2^53), rounded to int64.
"""

import numpy as np

from mrambnn.bits import pack_bits, unpack_signs
from mrambnn.engine.graph_kernels import strided_conv_sums
from mrambnn.engine.graph_nodes import BinaryWeights, Weights
from mrambnn.engine.kernels import dense_popcount

__all__ = ["CHUNK_BYTES", "average_pool", "conv_output_size", "convolve", "dense", "max_pool"]

CHUNK_BYTES = 8 * 2**20  # the largest temporary patch matrix of a real or integer conv


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """Output length of a window sliding over ``size`` (floor mode)."""
    return (size + 2 * padding - kernel) // stride + 1


def _patches(x: np.ndarray, kernel: int, stride: int, padding: int,
             fill: float | int | bool = 0) -> np.ndarray:
    """(N, H', W', k, k, C) windows of (N, H, W, C) ``x`` padded with ``fill`` (a view
    where no padding is needed)."""
    if padding:
        widths = ((0, 0), (padding, padding), (padding, padding), (0, 0))
        x = np.pad(x, widths, constant_values=fill)
    windows = np.lib.stride_tricks.sliding_window_view(x, (kernel, kernel), axis=(1, 2))
    return windows[:, ::stride, ::stride].transpose(0, 1, 2, 4, 5, 3)


def _signs(weights: Weights) -> np.ndarray:
    """(rows, fan_in) values of the weights: +-1 int8 or float64."""
    if isinstance(weights, BinaryWeights):
        return unpack_signs(weights.words, weights.fan_in)
    return weights.values


def _product(x: np.ndarray, weights: Weights, kind: str) -> np.ndarray:
    """(M, fan_in) integer or real ``x`` times the weights' rows: (M, rows) int64 for
    integer x and binary weights, else float64."""
    values = _signs(weights)
    if kind == "integer" and isinstance(weights, BinaryWeights):
        reach = int(np.abs(x).max(initial=0)) * weights.fan_in
        dtype = np.float32 if reach < 2**24 else np.float64
        if reach >= 2**53:
            raise ValueError("integer inputs too large for an exact float64 product")
        product = x.astype(dtype, copy=False) @ values.T.astype(dtype)
        return np.rint(product).astype(np.int64)
    return x.astype(np.float64, copy=False) @ values.T.astype(np.float64)


def dense(x: np.ndarray, weights: Weights, kind: str) -> np.ndarray:
    """A dense layer on (N, fan_in) ``x`` of ``kind`` ('bits', 'integer', 'real')."""
    if kind == "bits" and isinstance(weights, BinaryWeights):
        return dense_popcount(pack_bits(x), weights.words, weights.fan_in)  # int32, exact
    return _product(x.astype(np.float64) * 2 - 1 if kind == "bits" else x, weights,
                    "real" if kind == "bits" else kind)


def convolve(x: np.ndarray, weights: Weights, kind: str, kernel: int, stride: int,
             padding: int) -> np.ndarray:
    """A convolution of (N, H, W, C) ``x`` of ``kind``: (N, H', W', rows), int32 / int64
    when exact integer sums, float64 otherwise."""
    n, h, w, _ = x.shape
    out_h, out_w = (conv_output_size(s, kernel, stride, padding) for s in (h, w))
    if kind == "bits" and isinstance(weights, BinaryWeights):
        filters = unpack_signs(weights.words, weights.fan_in).reshape(
            weights.rows, kernel, kernel, -1) > 0
        return strided_conv_sums(pack_bits(x), pack_bits(filters), x.shape[3], kernel,
                                 stride, padding)
    if kind == "bits":
        x, kind = x.astype(np.float64) * 2 - 1, "real"
    # in chunks of images whose patches stay within CHUNK_BYTES: large temporary arrays
    # are fresh pages on every call, and faulting them in cost more than the product
    per_image = out_h * out_w * weights.fan_in * 8
    step = max(1, CHUNK_BYTES // per_image)
    parts = [_product(_patches(x[i:i + step], kernel, stride, padding).reshape(
        -1, weights.fan_in), weights, kind) for i in range(0, n, step)]
    return np.concatenate(parts).reshape(n, out_h, out_w, weights.rows)


def max_pool(x: np.ndarray, kernel: int, stride: int, padding: int) -> np.ndarray:
    """Max over (k, k) windows of (N, H, W, C) ``x`` (bits, integers or reals); padded
    positions never win."""
    if x.dtype == np.bool_:
        fill: float | int | bool = False
    elif x.dtype.kind == "i":
        fill = int(np.iinfo(x.dtype).min)
    else:
        fill = -np.inf
    return _patches(x, kernel, stride, padding, fill).max(axis=(3, 4))


def average_pool(x: np.ndarray, kernel: int, stride: int) -> np.ndarray:
    """Mean over (k, k) windows of (N, H, W, C) ``x``: float64, the window summed row by
    row and divided by k * k."""
    windows = _patches(x.astype(np.float64), kernel, stride, 0)
    total = np.zeros(windows.shape[:3] + windows.shape[5:], np.float64)
    for ky in range(kernel):
        for kx in range(kernel):
            total += windows[:, :, :, ky, kx]
    return total / (kernel * kernel)
