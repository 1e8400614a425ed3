"""A binary dense layer with folded threshold on packed rows, through the conv layers'
register-tiled kernel.

A dense layer on +-1 inputs is a 1 x 1 convolution whose pixels are the images: so a
block of images is laid out as one row of pixels of a map with ``in_features`` channels,
and `mrambnn.engine.packed_conv.binary_conv_words` computes XOR-popcount for 4 images x
16 neurons at a time in registers, compares with the thresholds there and stores the bits
packed. Rows of images are split between threads.
"""

import numpy as np

from mrambnn.engine.packed_conv import binary_conv_words

__all__ = ["IMAGES_PER_ROW", "binary_dense_words"]

IMAGES_PER_ROW = 64  # images laid out as one row of the map


def binary_dense_words(x: np.ndarray, weight_words: np.ndarray, in_features: int,
                       threshold: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Output bits (N, n_words(out)) uint64 of a dense layer with a `Threshold` head.

    Args:
        x: (N, n_words(in_features)) uint64 packed +-1 inputs, padding bits 0.
        weight_words: (out, n_words(in_features)) uint64 packed weights, padding bits 0.
        threshold, direction: (out,) the folded threshold.
    Returns:
        the bits of ``direction * a >= threshold`` (a = in_features - 2 popcount(x XOR w)),
        packed, padding bits 0.
    """
    n, n_words = x.shape
    rows = -(-n // IMAGES_PER_ROW)
    laid_out = np.zeros((rows * IMAGES_PER_ROW, n_words), np.uint64)
    laid_out[:n] = x
    filters = np.ascontiguousarray(weight_words, dtype=np.uint64).reshape(-1, 1, 1, n_words)
    bits = binary_conv_words(laid_out.reshape(rows, 1, IMAGES_PER_ROW, n_words), filters,
                             in_features, threshold, direction, pool=False, padding=0)
    return bits.reshape(rows * IMAGES_PER_ROW, -1)[:n]
