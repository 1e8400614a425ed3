"""Compiled helpers of the incremental engine: which outputs a few weight flips change.

A dense neuron o with clean margin ``m = direction * a - threshold`` (output bit 1 iff
m >= 0) whose weights j in F_o flip moves by ``delta = sum_j -2 w_oj x_j``. Its bit can
change only where ``|m| <= bound_o = 2 sum_j max|x_j|``, so with the images sorted by
margin, a binary search finds every candidate and the exact delta settles each one.
"""

import numpy as np
from numba import njit, prange

from mrambnn.engine.kernels import parallel_enabled

__all__ = ["changed_by_flips", "update_rows"]


@njit(cache=True)
def _input(x, n, j, packed):  # type: ignore[no-untyped-def]
    if packed:
        return np.int64(2 * ((x[n, j >> 6] >> np.uint64(j & 63)) & np.uint64(1))) - 1
    return np.int64(x[n, j])


@njit(cache=True)
def _changed(sorted_margin, order, neurons, starts, flip_inputs, flip_signs, direction,
             bounds, x, packed, skip):  # type: ignore[no-untyped-def]
    total = 0
    ranges = np.empty((neurons.size, 2), np.int64)
    for f in range(neurons.size):
        o = neurons[f]
        ranges[f, 0] = np.searchsorted(sorted_margin[o], -bounds[f], side="left")
        ranges[f, 1] = np.searchsorted(sorted_margin[o], bounds[f], side="right")
        total += ranges[f, 1] - ranges[f, 0]
    images = np.empty(total, np.int64)
    outputs = np.empty(total, np.int64)
    found = 0
    for f in range(neurons.size):
        o = neurons[f]
        for idx in range(ranges[f, 0], ranges[f, 1]):
            n = order[o, idx]
            if skip[n]:
                continue
            delta = np.int64(0)
            for q in range(starts[f], starts[f + 1]):
                delta -= 2 * flip_signs[q] * _input(x, n, flip_inputs[q], packed)
            margin = np.int64(sorted_margin[o, idx])
            if (margin >= 0) != (margin + direction[o] * delta >= 0):
                images[found] = n
                outputs[found] = o
                found += 1
    return images[:found], outputs[:found]


def changed_by_flips(sorted_margin: np.ndarray, order: np.ndarray, flip_outputs: np.ndarray,
                     flip_inputs: np.ndarray, flip_signs: np.ndarray, direction: np.ndarray,
                     x: np.ndarray, x_absmax: np.ndarray, *, packed: bool, skip: np.ndarray
                     ) -> tuple[np.ndarray, np.ndarray]:
    """(image, output) pairs whose bit the weight flips change, for clean inputs.

    Args:
        sorted_margin: (out, N) clean margins, each row sorted ascending.
        order: (out, N) image index of each sorted margin.
        flip_outputs, flip_inputs, flip_signs: (K,) flipped weights (output, input, clean
            sign +-1), sorted by output.
        direction: (out,) +-1 of the folded threshold.
        x: clean inputs: (N, n_words) uint64 packed +-1 if ``packed``, else (N, in) ints.
        x_absmax: (in,) largest |x| of each input over the images.
        skip: (N,) bool, images to leave out (their rows are recomputed in full).
    Returns:
        images (M,) and outputs (M,) int64 of the changed bits.
    """
    neurons, starts = np.unique(flip_outputs, return_index=True)
    starts = np.append(starts, flip_outputs.size).astype(np.int64)
    bounds = np.add.reduceat(2 * x_absmax[flip_inputs].astype(np.int64), starts[:-1]) \
        if flip_outputs.size else np.zeros(0, np.int64)
    return _changed(sorted_margin, order, neurons.astype(np.int64), starts,
                    flip_inputs.astype(np.int64), flip_signs.astype(np.int64),
                    direction.astype(np.int64), bounds.astype(np.int64), x, packed, skip)


def _rows_body(rows, starts, changed_inputs, x, packed, weights_t, margin, direction,
          flip_outputs, flip_inputs, flip_signs, threshold_bits):  # type: ignore[no-untyped-def]
    n_out = weights_t.shape[1]
    result = np.empty((rows.size, n_out), np.int64)
    for r in prange(rows.size):
        n = rows[r]
        acc = np.zeros(n_out, np.int64)
        for q in range(starts[r], starts[r + 1]):  # inputs that changed: W' (x' - x)
            j = changed_inputs[q]
            step = -2 * _input(x, n, j, packed)
            for o in range(n_out):
                acc[o] += weights_t[j, o] * step
        for f in range(flip_outputs.size):  # weights that flipped: (W' - W) x
            acc[flip_outputs[f]] -= 2 * flip_signs[f] * _input(x, n, flip_inputs[f], packed)
        for o in range(n_out):
            if threshold_bits:
                result[r, o] = margin[n, o] + direction[o] * acc[o] >= 0
            else:
                result[r, o] = margin[n, o] + acc[o]
    return result


def update_rows(rows: np.ndarray, starts: np.ndarray, changed_inputs: np.ndarray,
                x: np.ndarray, weights_t: np.ndarray, margin: np.ndarray,
                direction: np.ndarray, flip_outputs: np.ndarray, flip_inputs: np.ndarray,
                flip_signs: np.ndarray, *, packed: bool, threshold_bits: bool) -> np.ndarray:
    """New outputs of the images ``rows`` whose inputs changed.

    Args:
        rows: (R,) image indices; ``changed_inputs[starts[r]:starts[r + 1]]`` are the
            inputs of image ``rows[r]`` that toggled (+-1 layers only).
        x: the clean inputs (packed words if ``packed``, else integers).
        weights_t: (in, out) int8 faulty weights +-1, transposed.
        margin: (N, out) clean margins (``threshold_bits``) or pre-activations.
        flip_outputs, flip_inputs, flip_signs: (K,) flipped weights (clean sign).
    Returns:
        (R, out) int64: output bits 0/1 if ``threshold_bits``, else new pre-activations.
    """
    return _rows[parallel_enabled()](rows.astype(np.int64), starts.astype(np.int64),
                 changed_inputs.astype(np.int64), x, packed, weights_t, margin,
                 direction.astype(np.int64), flip_outputs.astype(np.int64),
                 flip_inputs.astype(np.int64), flip_signs.astype(np.int64), threshold_bits)


_rows = {False: njit(cache=True)(_rows_body), True: njit(parallel=True, cache=True)(_rows_body)}
