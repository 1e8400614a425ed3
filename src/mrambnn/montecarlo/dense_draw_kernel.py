"""The compiled kernel of `mrambnn.montecarlo.dense_draws`: many fault draws of an
all-dense network, image by image, only what changes.

For one image and one draw the kernel walks the layers after the first (the steps are
marked in the code):

1. the first layer's toggled bits of this (draw, image), found beforehand;
2. before the last hidden layer, the image may be settled at once: if even every
   neuron of that layer within reach of the changes flipped, against this image's top
   class, and every flipped output weight too, the top class would still lead, the
   prediction is the clean one (`NetArrays.slack`);
3. where no input of a layer toggled, only neurons with flipped weights can change, and
   only those whose clean margin lies within reach of their flips: each is settled
   exactly;
4. otherwise every neuron's new margin is its clean margin plus ``-2 x_j (direction w_j)``
   for each toggled input j (the columns added in a vector register, 32 neurons at a
   time), plus the exact effect of its flipped weights where the margin is within reach
   of them;
5. the neurons whose sign now differs from the clean one are the next layer's toggled
   inputs; at the output layer the class scores give the prediction.

A neuron's flips are settled from the layer's inputs as bits (the clean bits of the image
with the toggled ones flipped, 32 to a word) and its flipped weights packed as ``2 j +
(clean weight > 0 xor direction < 0)``, up to three of them in one 64-bit record.
Arguments come in groups (`NetArrays`, `DrawArrays`), described there and taken apart
once per call. The steps stay in one loop nest rather than in helper
functions: numba updates the reference count of every array handed to an inlined helper at
each call, and with calls per image and draw that made the kernel 1.2-2x slower at low BER
(measured).
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from mrambnn.engine.primitives import best_class, popcount
from mrambnn.montecarlo.simd import (
    COMPRESS,
    add_columns,
    add_columns_saturating,
    add_columns_saturating_32,
    add_columns_wide,
    compress_bits,
    reach_bits,
    sign_changed_bits,
)

__all__ = ["DrawArrays", "NetArrays", "draws_kernel", "set_bits", "set_bits_scalar"]

_ALL = np.uint32(0xFFFFFFFF)
# step 4' (int8 lanes) where a layer's toggled inputs t and the most flips f of one of
# its neurons have t + f <= 63: the column sum (within +-2 t) fits int8, and a margin
# clipped to +-127 stays more than 2 f from zero after it, out of every flip's reach
SMALL_REACH = 63


class NetArrays(NamedTuple):
    """The clean network on the images, layer l's part of each array at its offset.

    rows: (N, sum of padded widths) per image, every layer's clean margins (the first
        layer: their sign only) then the output pre-activations, layer l from
        ``row_offset[l]``, each padded to a multiple of 32 neurons. small_rows: the same
        clipped to int8 (step 4'), or (0, 0): never used.
    clean_bits: (N, row_offset[L - 1] / 32) uint32, the hidden layers' clean output bits
        (margin >= 0), layer l's from word ``row_offset[l] / 32``.
    columns: uint32 words, bit i of input j of layer l >= 1 set where
        ``direction_i * w_ij = +1`` (from ``column_offset[l]``, a padded width's words per
        input); outs: (L,) neurons per layer; scale, offset: the output layer's `Affine` head.
    slack: (N, R) float32, for r < R: the least, over classes c other than the image's
        clean prediction t, of ``score_t - score_c`` minus what the toggling of every
        neuron of layer L - 2 with ``|margin| <= r`` could take from it (rounded down);
        R = 0: no image is settled early (step 2). clean_predictions: (N,) int64.
    tolerance: what the slack must exceed (float rounding of the scores, with room).
    """

    rows: np.ndarray
    small_rows: np.ndarray
    clean_bits: np.ndarray
    row_offset: np.ndarray
    columns: np.ndarray
    column_offset: np.ndarray
    outs: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    slack: np.ndarray
    clean_predictions: np.ndarray
    tolerance: float


class DrawArrays(NamedTuple):
    """D draws' flips, flat per (draw, layer) segment s = d * L + l.

    first_ptr, first_toggled: per (draw, image) the first layer's toggled bits (CSR with
        N + 1 pointers per draw); flip_ptr: per segment, from ``ptr_offset[s]``, CSR by
        output of the flipped weights, each ``flip_cells`` = 2 input + (clean sign > 0
        xor direction < 0);
    bounds, flip_records: per segment (each padded to 32 neurons, from ``d * row_offset[L]
        + row_offset[l]``) the reach of a neuron's flips (-1: none; the output layer's: any
        value) and its flips as one uint64 (count in bits 48-63; up to three cells in 16
        bits each, the rest ``2 x widest padded width``: an input bit that is always 0;
        more flips, or layers wider than 2^15: only the count, the cells from ``flip_cells``);
        small_bounds: bounds as int8 (clipped to 127; read only in step 4');
        flipped, flipped_offset: per segment, the neurons with flipped weights;
        most_flips: per segment, the most flipped weights of one neuron; output_reach: per
        draw, how far the output layer's flips can move a score gap (4 max_c f_c |scale_c|).
    """

    first_ptr: np.ndarray
    first_toggled: np.ndarray
    flip_ptr: np.ndarray
    ptr_offset: np.ndarray
    flip_cells: np.ndarray
    flip_records: np.ndarray
    bounds: np.ndarray
    small_bounds: np.ndarray
    flipped: np.ndarray
    flipped_offset: np.ndarray
    most_flips: np.ndarray
    output_reach: np.ndarray


@njit(inline="always", cache=True)
def set_bits_scalar(masks, n_words, found):  # type: ignore[no-untyped-def]
    """`set_bits` without AVX-512: branch-free but for the loop over the set bits. Per 64
    words, a summary bit per nonzero word; each step takes the next word (its index the
    summary's lowest bit) only where the current one is used up. Branching on each word
    instead mispredicts about once per nonzero word (measured 11 % slower on the MNIST
    MLP at BER 1e-3)."""
    count = 0
    for base in range(0, n_words, 64):
        top = min(n_words, base + 64)
        summary = np.uint64(0)
        total = 0
        for w in range(base, top):
            summary |= np.uint64(masks[w] != 0) << np.uint64(w - base)
            total += np.int64(popcount(np.uint64(masks[w])))
        last = top - base - 1
        index = 0
        word = np.uint64(0)
        for _ in range(total):
            next_word = summary & (~summary + np.uint64(1))  # lowest bit: next nonzero word
            at = min(np.int64(popcount(next_word - np.uint64(1))), last)
            take = np.uint64(0) - np.uint64(word == 0)  # all ones where the word is used up
            index = (at & np.int64(take)) | (index & ~np.int64(take))
            word = (np.uint64(masks[base + at]) & take) | (word & ~take)
            summary &= ~(take & next_word)
            lowest = word & (~word + np.uint64(1))
            found[count] = 32 * (base + index) + np.int64(popcount(lowest - np.uint64(1)))
            count += 1
            word ^= lowest
    return count


@njit(inline="always", cache=True)
def set_bits(masks, n_words, found):  # type: ignore[no-untyped-def]
    """The indices of the set bits of the uint32 words ``masks[:n_words]`` into ``found``
    (int32, 16 elements longer than the most bits), ascending; returns how many. With
    AVX-512 two compresses per word (`compress_bits`; 17 % off the kernel with the
    scalar loop at BER 1e-3 on the MNIST MLP), else `set_bits_scalar`."""
    if COMPRESS:
        count = 0
        for w in range(n_words):
            count = compress_bits(masks[w], 32 * w, found, count)
        return count
    return set_bits_scalar(masks, n_words, found)


@njit(inline="always", cache=True)
def _reach_masks(values, start, bounds, bounds_start, n_words, tail, masks
                 ):  # type: ignore[no-untyped-def]
    """Bit i of ``masks`` set where ``-b <= values[start + i] < b``, b = ``bounds[
    bounds_start + i]``; the last word AND ``tail`` (the bits of the neurons that exist)."""
    for q in range(n_words):
        masks[q] = reach_bits(values, start + 32 * q, bounds, bounds_start + 32 * q)
    masks[n_words - 1] &= tail


@njit(inline="always", cache=True)
def _flip_change(inputs, record, begin, end, cells):  # type: ignore[no-untyped-def]
    """How far a neuron's flipped weights move its margin, ``direction * -2 sum_q w_q x_q``,
    with x the layer's inputs as bits (``inputs``, 32 to a word). ``record``: its flip count
    (bits 48-63) and, for up to three flips, their cells (16 bits each, padded with a
    cell whose bit and weight agree); more flips: the cells ``cells[begin:end]``. A cell is
    ``2 j + (w_q > 0 xor direction < 0)``, so the change is 4 x (flipped weights whose
    input bit differs from the cell's) - 2 x (their count)."""
    count = np.int64(record >> np.uint64(48))
    unequal = 0
    if count <= 3:  # three lookups, no branch: one record read instead of two arrays
        for slot in range(3):
            cell = np.uint32((record >> np.uint64(16 * slot)) & np.uint64(0xFFFF))
            unequal += np.int64(
                ((inputs[cell >> np.uint32(6)] >> ((cell >> np.uint32(1)) & np.uint32(31)))
                 ^ cell) & np.uint32(1))
        return 4 * unequal - 2 * count
    for q in range(begin, end):
        cell = np.uint32(cells[q])
        unequal += np.int64(
            ((inputs[cell >> np.uint32(6)] >> ((cell >> np.uint32(1)) & np.uint32(31)))
             ^ cell) & np.uint32(1))
    return 4 * unequal - 2 * (end - begin)


def _draws_body(net, draws, images_from, images_to):  # type: ignore[no-untyped-def]
    """Predictions (D, images_to - images_from) of the D draws on those images."""
    (rows, small_rows, clean_bits, row_offset, columns, column_offset, outs, scale, offset,
     slack, clean_predictions, tolerance) = net
    (first_ptr, first_toggled, flip_ptr, ptr_offset, flip_cells, flip_records, bounds,
     small_bounds, flipped, flipped_offset, most_flips, output_reach) = draws
    n_images, width = rows.shape
    bits_width = clean_bits.shape[1]
    n_layers = outs.size
    n_draws = (ptr_offset.size - 1) // n_layers
    n_reach = slack.shape[1]
    settle_at = n_layers - 2 if n_reach > 0 and n_layers >= 3 else -1
    widest = (outs.max() + 31) // 32 * 32
    n_classes = outs[n_layers - 1]
    predictions = np.empty((n_draws, images_to - images_from), np.int64)
    flat = rows.reshape(-1)  # indices, not slices, in the loops: no reference counting
    small = small_rows.size > 0
    small_flat = small_rows.reshape(-1)
    small_cur = np.zeros(widest, np.int8)
    flat_bits = clean_bits.reshape(-1)
    cur = np.zeros(widest, rows.dtype)
    toggled = np.empty(widest + 16, np.int32)  # 16 more: `compress_bits` stores 16 at once
    near = np.empty(widest + 16, np.int32)
    inputs = np.zeros(widest // 32 + 1, np.uint32)  # the last word stays 0: pad cells
    column_starts = np.empty(widest, np.int64)
    inverts = np.empty(widest, np.uint32)
    masks = np.zeros(widest // 32, np.uint32)
    for n in range(images_from, images_to):
        row = n * width  # image n's clean values in flat
        for d in range(n_draws):
            # 1. the first layer's toggled bits of this (draw, image)
            start = first_ptr[d * (n_images + 1) + n]
            n_toggled = first_ptr[d * (n_images + 1) + n + 1] - start
            for t in range(n_toggled):
                toggled[t] = first_toggled[start + t]
            settled = False
            for layer in range(1, n_layers):
                out = outs[layer]
                n_words = (out + 31) // 32
                tail = _ALL >> np.uint32(32 * n_words - out)
                last = layer == n_layers - 1
                below = row + row_offset[layer - 1]
                clean = row + row_offset[layer]  # this layer's clean values in flat
                segment = d * n_layers + layer
                p0 = ptr_offset[segment]
                if layer == settle_at:
                    # 2. a neuron moves by at most 2 per toggled input and 2 per flip
                    reach = 2 * n_toggled + 2 * most_flips[segment]
                    if reach < n_reach and slack[n, reach] - output_reach[d] > tolerance:
                        predictions[d, n - images_from] = clean_predictions[n]
                        settled = True
                        break
                if n_toggled == 0 and not last and flip_ptr[p0 + out] == flip_ptr[p0]:
                    continue  # nothing reaches this layer: no toggled input, no flip
                if flip_ptr[p0 + out] != flip_ptr[p0]:
                    # for the flips: the layer's inputs as bits, the toggled ones flipped
                    bits_from = n * bits_width + row_offset[layer - 1] // 32
                    for q in range((outs[layer - 1] + 31) // 32):
                        inputs[q] = flat_bits[bits_from + q]
                    for t in range(n_toggled):
                        inputs[toggled[t] >> 5] ^= np.uint32(1) << np.uint32(toggled[t] & 31)
                bound = d * row_offset[n_layers] + row_offset[layer]  # in bounds
                if n_toggled == 0 and not last:
                    # 3. inputs unchanged: only flipped neurons within reach can change;
                    # few of them (low BER): a direct look, else a mask
                    first, end = flipped_offset[segment], flipped_offset[segment + 1]
                    if 16 * (end - first) < out:
                        n_near = 0
                        for f in range(first, end):
                            i = flipped[f]
                            near[n_near] = i
                            n_near += ((flat[clean + i] >= -bounds[bound + i])
                                       & (flat[clean + i] < bounds[bound + i]))
                    else:
                        _reach_masks(flat, clean, bounds, bound, n_words, tail, masks)
                        n_near = set_bits(masks, n_words, near)
                    for k in range(n_near):
                        i = near[k]
                        moved = flat[clean + i] + _flip_change(
                            inputs, flip_records[bound + i], flip_ptr[p0 + i],
                            flip_ptr[p0 + i + 1], flip_cells)
                        toggled[n_toggled] = i  # kept only if the sign changed: no branch
                        n_toggled += (moved >= 0) != (flat[clean + i] >= 0)
                    continue
                # 4. the new margins of every neuron, in cur: x_j goes from +-1 to -+1,
                # cur += -2 x_j (direction * w_j)
                for t in range(n_toggled):
                    j = toggled[t]
                    inverts[t] = _ALL if flat[below + j] >= 0 else np.uint32(0)
                    column_starts[t] = column_offset[layer] + j * n_words
                if small and not last and n_toggled + most_flips[segment] <= SMALL_REACH:
                    # 4'. the same in int8 lanes, 128 neurons at a time: the column sum
                    # (|.| <= 2 t <= 126) added saturating to the margins clipped to int8
                    # keeps every sign, and every value within the flips' reach, exact
                    for q in range(0, n_words - 3, 4):
                        add_columns_saturating(small_cur, 32 * q, small_flat, clean + 32 * q,
                                               columns, column_starts, inverts, n_toggled, q)
                    for q in range(n_words // 4 * 4, n_words):
                        add_columns_saturating_32(small_cur, 32 * q, small_flat,
                                                  clean + 32 * q, columns, column_starts,
                                                  inverts, n_toggled, q)
                    _reach_masks(small_cur, 0, small_bounds, bound, n_words, tail, masks)
                    for k in range(set_bits(masks, n_words, near)):
                        i = near[k]
                        moved = np.int64(small_cur[i]) + _flip_change(
                            inputs, flip_records[bound + i], flip_ptr[p0 + i],
                            flip_ptr[p0 + i + 1], flip_cells)
                        small_cur[i] = min(max(moved, -128), 127)
                    for q in range(n_words):
                        masks[q] = sign_changed_bits(small_cur, 32 * q, small_flat,
                                                     clean + 32 * q)
                    masks[n_words - 1] &= tail
                    n_toggled = set_bits(masks, n_words, toggled)
                    continue
                for q in range(0, n_words - 1, 2):  # 64 neurons at a time, then any 32 left
                    add_columns_wide(cur, 32 * q, flat, clean + 32 * q, columns,
                                     column_starts, inverts, n_toggled, q)
                if n_words % 2:
                    add_columns(cur, 32 * (n_words - 1), flat, clean + 32 * (n_words - 1),
                                columns, column_starts, inverts, n_toggled, n_words - 1)
                # flipped weights, only where they can reach the threshold (bounds:
                # -1 without flips; at the output, every flipped score is recomputed)
                _reach_masks(cur, 0, bounds, bound, n_words, tail, masks)
                for k in range(set_bits(masks, n_words, near)):
                    i = near[k]
                    cur[i] += _flip_change(inputs, flip_records[bound + i], flip_ptr[p0 + i],
                                           flip_ptr[p0 + i + 1], flip_cells)
                if last:
                    break
                # 5. the neurons whose sign changed: the next layer's toggled inputs
                for q in range(n_words):
                    masks[q] = sign_changed_bits(cur, 32 * q, flat, clean + 32 * q)
                masks[n_words - 1] &= tail
                n_toggled = set_bits(masks, n_words, toggled)
            if not settled:
                predictions[d, n - images_from] = best_class(cur, scale, offset, n_classes)
    return predictions


# serial and without the GIL: `mrambnn.engine.threads.in_blocks` runs it in threads
draws_kernel = njit(cache=True, nogil=True)(_draws_body)
