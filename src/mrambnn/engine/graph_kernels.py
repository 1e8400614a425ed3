"""Compiled XNOR-popcount sums of strided, zero-padded binary convolutions (numba), for
`mrambnn.engine.graph_ops`: exact int32 pre-activations, no patch matrix in memory.

For each output pixel the words of the input pixels its window covers inside the map are
gathered, then summed against every filter four words at a time (the accumulators loaded
and stored once per four popcounts, LLVM vectorising the loop over the filters); a window
position outside the map (zero padding) contributes 0, so the sum of a pixel with v
positions inside is ``v * C - 2 * disagreeing bits``.
"""

import numpy as np
from numba import njit

from mrambnn.engine.primitives import popcount
from mrambnn.engine.threads import in_blocks

__all__ = ["strided_conv_sums"]

ROWS_PER_BLOCK = 4  # fewest output rows worth a thread of their own


def _sums_body(x, w, k, stride, padding, channels, first, last, out
               ):  # type: ignore[no-untyped-def]
    # x: (N, H, W, n_words) uint64; w: (k * k * n_words, out) uint64, rows (ky, kx, word);
    # out: (N, H', W', out) int32; output rows first..last-1 of the N * H' rows.
    _, h, width, n_words = x.shape
    n_out = w.shape[1]
    out_h, out_w = out.shape[1], out.shape[2]
    patch = np.zeros(w.shape[0], np.uint64)
    rows = np.zeros(w.shape[0], np.int64)
    acc = np.zeros(n_out, np.int32)
    for item in range(first, last):
        i, py = item // out_h, item % out_h
        y0 = py * stride - padding
        for px in range(out_w):
            x0 = px * stride - padding
            t = 0
            valid = 0
            for ky in range(max(0, -y0), min(k, h - y0)):
                for kx in range(max(0, -x0), min(k, width - x0)):
                    valid += 1
                    for d in range(n_words):
                        patch[t] = x[i, y0 + ky, x0 + kx, d]
                        rows[t] = (ky * k + kx) * n_words + d
                        t += 1
            for o in range(n_out):
                acc[o] = 0
            g = 0
            while g + 4 <= t:
                p0, p1, p2, p3 = patch[g], patch[g + 1], patch[g + 2], patch[g + 3]
                w0, w1, w2, w3 = w[rows[g]], w[rows[g + 1]], w[rows[g + 2]], w[rows[g + 3]]
                for o in range(n_out):
                    acc[o] += np.int32(popcount(p0 ^ w0[o]) + popcount(p1 ^ w1[o])
                                       + popcount(p2 ^ w2[o]) + popcount(p3 ^ w3[o]))
                g += 4
            for rest in range(g, t):
                p0, w0 = patch[rest], w[rows[rest]]
                for o in range(n_out):
                    acc[o] += np.int32(popcount(p0 ^ w0[o]))
            base = np.int32(valid * channels)
            dest = out[i, py, px]
            for o in range(n_out):
                dest[o] = base - 2 * acc[o]


_sums = njit(cache=True, nogil=True)(_sums_body)


def strided_conv_sums(words: np.ndarray, filters: np.ndarray, channels: int, kernel: int,
                      stride: int, padding: int) -> np.ndarray:
    """Exact pre-activations of a binary convolution.

    Args:
        words: (N, H, W, n_words(C)) uint64, each pixel's C channel bits packed.
        filters: (out, k, k, n_words(C)) uint64, each filter offset's channels packed.
        channels: C, the valid bits per pixel.
        kernel, stride, padding: k, s, p (zero padding adds 0).
    Returns:
        (N, (H + 2p - k) // s + 1, (W + 2p - k) // s + 1, out) int32.
    """
    words = np.ascontiguousarray(words, dtype=np.uint64)
    n, h, w = words.shape[:3]
    out_h, out_w = ((size + 2 * padding - kernel) // stride + 1 for size in (h, w))
    operand = np.ascontiguousarray(filters.reshape(len(filters), -1).T)  # (k*k*nw, out)
    out = np.empty((n, out_h, out_w, len(filters)), np.int32)
    # blocks of output rows, not of images: a batch of a few large images still fills
    # every core
    in_blocks(lambda start, end: _sums(words, operand, kernel, stride, padding, channels,
                                       start, end, out),
              n * out_h, min_block=ROWS_PER_BLOCK)
    return out
