"""Flipped weights of a draw, and which dense outputs a few flips change (compiled).

A dense neuron o with clean margin ``m = direction * a - threshold`` (output bit 1 iff
m >= 0) whose weights j in F_o flip moves by ``direction * delta``, ``delta = sum_j -2 w_oj
x_j``. With each input's range over the images, that move lies in some [low, high], so the
bit can change only where ``-max(high, 0) <= m < max(-low, 0)``: with the images sorted by
margin, a binary search finds every candidate and the exact delta settles each one. Inputs
that are never negative (pixels) make that window one-sided.
"""

from collections.abc import Sequence

import numpy as np
from numba import njit

from mrambnn.engine.primitives import popcount
from mrambnn.engine.threads import in_blocks

__all__ = ["EMPTY_INDEX", "changed_by_flips", "csr_offsets", "flipped_weights", "update_rows"]

EMPTY_INDEX = np.zeros(0, np.int64)  # an empty (0,) int64 list of indices


def csr_offsets(sizes: Sequence[int] | np.ndarray) -> np.ndarray:
    """(len(sizes) + 1,) int64 start offsets of consecutive segments of these sizes."""
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


@njit(cache=True, nogil=True)
def _flipped(clean, faulty):  # type: ignore[no-untyped-def]
    n_out, n_words = clean.shape
    total = 0
    for o in range(n_out):
        for w in range(n_words):
            total += popcount(clean[o, w] ^ faulty[o, w])
    outputs = np.empty(total, np.int64)
    inputs = np.empty(total, np.int64)
    signs = np.empty(total, np.int64)
    k = 0
    for o in range(n_out):
        for w in range(n_words):
            diff = clean[o, w] ^ faulty[o, w]
            while diff:
                lowest = diff & (~diff + np.uint64(1))
                bit = np.int64(popcount(lowest - np.uint64(1)))
                outputs[k] = o
                inputs[k] = 64 * w + bit
                signs[k] = 1 if clean[o, w] & lowest else -1
                k += 1
                diff ^= lowest
    return outputs, inputs, signs


def flipped_weights(clean: np.ndarray, faulty: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(output, input, clean sign +-1) of every bit where two (out, n_words) uint64 weight
    arrays differ, sorted by output, then input, each (K,) int64. Compiled, without the
    GIL (callers run it in threads)."""
    clean, faulty = np.asarray(clean), np.asarray(faulty)
    if clean.shape != faulty.shape or clean.ndim != 2:
        raise ValueError(f"stored weights of shape {faulty.shape} for a layer of {clean.shape}")
    result: tuple[np.ndarray, np.ndarray, np.ndarray] = _flipped(
        np.ascontiguousarray(clean, dtype=np.uint64),
        np.ascontiguousarray(faulty, dtype=np.uint64))
    return result


@njit(cache=True)
def _input(x, n, j, packed):  # type: ignore[no-untyped-def]
    if packed:
        return np.int64(2 * ((x[n, j >> 6] >> np.uint64(j & 63)) & np.uint64(1))) - 1
    return np.int64(x[j, n])  # integer inputs are stored transposed: (in, N)


def _changed_body(sorted_margin, order, neurons, starts, flip_inputs, flip_signs, direction,
                  window, x, packed, skip):  # type: ignore[no-untyped-def]
    offsets = np.zeros(neurons.size + 1, np.int64)
    ranges = np.empty((neurons.size, 2), np.int64)
    for f in range(neurons.size):
        o = neurons[f]
        ranges[f, 0] = np.searchsorted(sorted_margin[o], window[f, 0], side="left")
        ranges[f, 1] = np.searchsorted(sorted_margin[o], window[f, 1], side="left")
        offsets[f + 1] = offsets[f] + ranges[f, 1] - ranges[f, 0]
    images = np.empty(offsets[-1], np.int64)
    counts = np.zeros(neurons.size, np.int64)
    n_images = sorted_margin.shape[1]
    moved = np.empty(n_images, np.int64)
    changed = np.zeros((n_images + 7) // 8 * 8, np.uint8)  # a byte per candidate, 8 per read
    changed_words = changed.view(np.uint64)
    for f in range(neurons.size):
        o = neurons[f]
        lo, size = ranges[f, 0], ranges[f, 1] - ranges[f, 0]
        # one pass per flipped weight over the candidates (in margin order), each a
        # gather of one input: no branch in these loops, so they compile to vector code
        for k in range(size):
            moved[k] = sorted_margin[o, lo + k]
        for q in range(starts[f], starts[f + 1]):
            j = flip_inputs[q]
            step = -2 * flip_signs[q] * direction[o]
            for k in range(size):
                moved[k] += step * _input(x, order[o, lo + k], j, packed)
        for k in range(size):
            changed[k] = ((sorted_margin[o, lo + k] >= 0) != (moved[k] >= 0)) & (
                not skip[order[o, lo + k]])
        for k in range(size, (size + 7) // 8 * 8):
            changed[k] = 0
        found = offsets[f]
        for w in range((size + 7) // 8):  # few bits change: most words are zero
            word = changed_words[w]
            while word:
                lowest = word & (~word + np.uint64(1))
                k = 8 * w + np.int64(popcount(lowest - np.uint64(1))) // 8
                images[found] = order[o, lo + k]
                found += 1
                word ^= lowest
        counts[f] = found - offsets[f]
    total = counts.sum()
    out_images = np.empty(total, np.int64)
    out_outputs = np.empty(total, np.int64)
    k = 0
    for f in range(neurons.size):
        for q in range(counts[f]):
            out_images[k] = images[offsets[f] + q]
            out_outputs[k] = neurons[f]
            k += 1
    return out_images, out_outputs


_changed = njit(cache=True, nogil=True)(_changed_body)


def changed_by_flips(sorted_margin: np.ndarray, order: np.ndarray, flip_outputs: np.ndarray,
                     flip_inputs: np.ndarray, flip_signs: np.ndarray, direction: np.ndarray,
                     x: np.ndarray, x_min: np.ndarray, x_max: np.ndarray, *, packed: bool,
                     skip: np.ndarray, serial: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """(image, output) pairs whose bit the weight flips change, for clean inputs.

    Args:
        sorted_margin: (out, N) clean margins, each row sorted ascending.
        order: (out, N) image index of each sorted margin.
        flip_outputs, flip_inputs, flip_signs: (K,) flipped weights (output, input, clean
            sign +-1), sorted by output.
        direction: (out,) +-1 of the folded threshold.
        x: clean inputs: (N, n_words) uint64 packed +-1 if ``packed``, else (in, N) ints
            (transposed: the images of one input are adjacent in memory).
        x_min, x_max: (in,) smallest and largest value of each input over the images.
        skip: (N,) bool, images to leave out (their rows are recomputed in full).
        serial: in the calling thread (for callers running several at once); else on
            `kernel_threads` threads, each on a block of the neurons.
    Returns:
        images (M,) and outputs (M,) int64 of the changed bits.
    """
    neurons, starts = np.unique(flip_outputs, return_index=True)
    starts = np.append(starts, flip_outputs.size).astype(np.int64)
    window = np.zeros((neurons.size, 2), np.int64)
    if flip_outputs.size:
        # flip q moves m by c x_j, c = -2 direction_o w_oj, x_j within [x_min, x_max]
        c = -2 * np.asarray(direction, np.int64)[flip_outputs] * flip_signs
        at_min = c * np.asarray(x_min, np.int64)[flip_inputs]
        at_max = c * np.asarray(x_max, np.int64)[flip_inputs]
        low = np.add.reduceat(np.minimum(at_min, at_max), starts[:-1])
        high = np.add.reduceat(np.maximum(at_min, at_max), starts[:-1])
        window[:, 0] = -np.maximum(high, 0)
        window[:, 1] = np.maximum(-low, 0)
    neurons = neurons.astype(np.int64)
    flip_inputs, flip_signs = flip_inputs.astype(np.int64), flip_signs.astype(np.int64)
    direction = direction.astype(np.int64)

    def run(begin: int, end: int) -> tuple[np.ndarray, np.ndarray]:
        return _changed(sorted_margin, order, neurons[begin:end],  # type: ignore[no-any-return]
                        starts[begin:end + 1], flip_inputs, flip_signs, direction,
                        window[begin:end], x, packed, skip)

    if serial:
        return run(0, neurons.size)
    blocks = in_blocks(run, neurons.size)
    return (np.concatenate([b[0] for b in blocks]), np.concatenate([b[1] for b in blocks]))


def _rows_body(rows, x_new, x, weights_t, margin, direction, bound, flip_first, flip_last,
               flip_inputs, flip_signs, threshold_bits):  # type: ignore[no-untyped-def]
    n_out = weights_t.shape[1]
    n_words_out = (n_out + 63) // 64
    bits = np.zeros((rows.size, n_words_out), np.uint64)
    scores = np.empty((rows.size, 0 if threshold_bits else n_out), np.int32)
    for r in range(rows.size):
        n = rows[r]
        acc = np.zeros(n_out, np.int32)
        for wd in range(x_new.shape[1]):  # inputs that toggled: W' (x' - x), x' - x = -2x
            diff = x_new[r, wd] ^ x[n, wd]
            while diff:
                low = diff & (~diff + np.uint64(1))
                j = wd * 64 + np.int64(popcount(low - np.uint64(1)))
                step = np.int32(-2 if x[n, wd] & low else 2)
                for o in range(n_out):
                    acc[o] += weights_t[j, o] * step
                diff ^= low
        value = np.empty(n_out, np.int32)
        for o in range(n_out):
            value[o] = margin[n, o] + direction[o] * acc[o]
        for o in range(n_out):
            # weights that flipped, (W' - W) x: only where they could cross the threshold
            # (bound is -1 for outputs without flips, so this is rarely true)
            if abs(value[o]) <= bound[o]:
                delta = 0
                for q in range(flip_first[o], flip_last[o]):
                    delta -= 2 * flip_signs[q] * _input(x, n, flip_inputs[q], True)
                value[o] += direction[o] * delta
        if threshold_bits:
            for wd in range(n_words_out):
                word = np.uint64(0)
                for b in range(min(64, n_out - 64 * wd)):
                    if value[64 * wd + b] >= 0:
                        word |= np.uint64(1) << np.uint64(b)
                bits[r, wd] = word
        else:
            scores[r] = value
    return bits, scores


def update_rows(rows: np.ndarray, x_new: np.ndarray, x: np.ndarray, weights_t: np.ndarray,
                margin: np.ndarray, direction: np.ndarray, flip_outputs: np.ndarray,
                flip_inputs: np.ndarray, flip_signs: np.ndarray, *, threshold_bits: bool
                ) -> tuple[np.ndarray, np.ndarray]:
    """New outputs of the images ``rows`` of a +-1-input dense layer.

    Args:
        rows: (R,) image indices; ``x_new`` (R, n_words) their new packed inputs.
        x: (N, n_words) clean packed inputs.
        weights_t: (in, out) int8 faulty weights +-1, transposed.
        margin: (N, out) clean margins (``threshold_bits``) or pre-activations.
        direction: (out,) +-1 of the threshold.
        flip_outputs, flip_inputs, flip_signs: (K,) flipped weights (clean sign), sorted
            by output.
    Returns:
        packed output bits (R, n_words(out)) uint64 (``threshold_bits``), and new
        pre-activations (R, out) int64 (otherwise; else an empty array).
    """
    n_out = weights_t.shape[1]
    flip_first = np.searchsorted(flip_outputs, np.arange(n_out))
    flip_last = np.searchsorted(flip_outputs, np.arange(n_out), side="right")
    count = flip_last - flip_first
    # scores need every flip applied; bits only those within reach of the threshold
    bound = np.where(count > 0, 2 * count if threshold_bits else np.iinfo(np.int32).max, -1)
    rows = rows.astype(np.int64)
    x_new = np.ascontiguousarray(x_new, dtype=np.uint64)
    shared = (x, weights_t, margin, direction.astype(np.int32), bound.astype(np.int64),
              flip_first.astype(np.int64), flip_last.astype(np.int64),
              flip_inputs.astype(np.int64), flip_signs.astype(np.int64), threshold_bits)
    blocks = in_blocks(lambda begin, end: _rows(rows[begin:end], x_new[begin:end], *shared),
                       rows.size)
    return (np.concatenate([b[0] for b in blocks]),
            np.concatenate([b[1] for b in blocks]).astype(np.int64))


_rows = njit(cache=True, nogil=True)(_rows_body)
