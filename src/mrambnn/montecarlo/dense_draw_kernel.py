"""The compiled kernel of `mrambnn.montecarlo.dense_draws`: many fault draws of an
all-dense network, image by image, only what changes.

For one image and one draw the kernel walks the layers after the first (the steps are
marked in the code):

1. the first layer's toggled bits of this (draw, image), found beforehand;
2. where no input of a layer toggled, only neurons with flipped weights can change, and
   only those whose clean margin lies within reach of their flips: each is settled
   exactly;
3. otherwise every neuron's new margin is its clean margin plus ``-2 x_j (direction w_j)``
   for each toggled input j (one 32-lane masked add per 32 neurons), plus the exact effect
   of its flipped weights where the margin is within reach of them;
4. the neurons whose sign now differs from the clean one are the next layer's toggled
   inputs; at the output layer the class scores give the prediction.

Arguments come in groups (`NetArrays`, `DrawArrays`), described there and taken apart
once per call. The steps stay in one loop nest rather than in helper functions: numba
updates the reference count of every array handed to an inlined helper at each call, and
with calls per image and draw that made the kernel 1.2-2x slower at low BER (measured).
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from mrambnn.engine.primitives import best_class, popcount
from mrambnn.montecarlo.simd import add_signed_bits, copy_lanes, sign_changed_bits, within_bits

__all__ = ["DrawArrays", "NetArrays", "draws_kernel"]

_ALL = np.uint32(0xFFFFFFFF)


class NetArrays(NamedTuple):
    """The clean network on the images, layer l's part of each array at its offset.

    rows: (N, sum of padded widths) per image, every layer's clean margins (the first
        layer: their sign only) then the output pre-activations, layer l from
        ``row_offset[l]``, each padded to a multiple of 32 neurons.
    columns: uint32 words, bit i of input j of layer l >= 1 set where
        ``direction_i * w_ij = +1`` (from ``column_offset[l]``, a padded width's words per
        input); directions: each neuron's +-1 (layer l's at ``row_offset[l]``);
        outs: (L,) neurons per layer; scale, offset: the output layer's `Affine` head.
    """

    rows: np.ndarray
    row_offset: np.ndarray
    columns: np.ndarray
    column_offset: np.ndarray
    directions: np.ndarray
    outs: np.ndarray
    scale: np.ndarray
    offset: np.ndarray


class DrawArrays(NamedTuple):
    """D draws' flips, flat per (draw, layer) segment s = d * L + l.

    first_ptr, first_toggled: per (draw, image) the first layer's toggled bits (CSR with
        N + 1 pointers per draw); flip_ptr: per segment, from ``ptr_offset[s]``, CSR by
        output of the flipped weights' inputs ``flip_in`` and clean signs ``flip_sign``;
    bounds: per segment (each padded to 32 neurons, from ``d * row_offset[L] +
        row_offset[l]``) the reach of a neuron's flips (-1: none; the output layer's: any
        value); flipped, flipped_offset: per segment, the neurons with flipped weights.
    """

    first_ptr: np.ndarray
    first_toggled: np.ndarray
    flip_ptr: np.ndarray
    ptr_offset: np.ndarray
    flip_in: np.ndarray
    flip_sign: np.ndarray
    bounds: np.ndarray
    flipped: np.ndarray
    flipped_offset: np.ndarray


@njit(inline="always", cache=True)
def _set_bits(masks, n_words, found):  # type: ignore[no-untyped-def]
    """The indices of the set bits of the uint32 words ``masks[:n_words]`` into ``found``,
    ascending; returns how many. One branch per set bit, not one per neuron."""
    count = 0
    for w in range(n_words):
        word = np.uint64(masks[w])
        while word:
            lowest = word & (~word + np.uint64(1))
            found[count] = 32 * w + np.int64(popcount(lowest - np.uint64(1)))
            count += 1
            word ^= lowest
    return count


@njit(inline="always", cache=True)
def _within_masks(values, start, bounds, bounds_start, n_words, tail, masks
                  ):  # type: ignore[no-untyped-def]
    """Bit i of ``masks`` set where ``|values[start + i]| <= bounds[bounds_start + i]``;
    the last word AND ``tail`` (the bits of the neurons that exist)."""
    for q in range(n_words):
        masks[q] = within_bits(values, start + 32 * q, bounds, bounds_start + 32 * q)
    masks[n_words - 1] &= tail


@njit(inline="always", cache=True)
def _flip_change(flat, below, begin, end, flip_in, flip_sign, is_toggled
                 ):  # type: ignore[no-untyped-def]
    """``-2 sum w_q x'_q`` over a neuron's flipped weights q in [begin, end) (clean signs
    w_q), with x' the layer's inputs: the clean bits in ``flat`` from ``below``, toggled
    where ``is_toggled``."""
    change = 0
    for q in range(begin, end):
        j = flip_in[q]
        x = 1 if (flat[below + j] >= 0) != is_toggled[j] else -1
        change -= 2 * flip_sign[q] * x
    return change


def _draws_body(net, draws, images_from, images_to):  # type: ignore[no-untyped-def]
    """Predictions (D, images_to - images_from) of the D draws on those images."""
    rows, row_offset, columns, column_offset, directions, outs, scale, offset = net
    (first_ptr, first_toggled, flip_ptr, ptr_offset, flip_in, flip_sign, bounds, flipped,
     flipped_offset) = draws
    n_images, width = rows.shape
    n_layers = outs.size
    n_draws = (ptr_offset.size - 1) // n_layers
    widest = (outs.max() + 31) // 32 * 32
    n_classes = outs[n_layers - 1]
    predictions = np.empty((n_draws, images_to - images_from), np.int64)
    flat = rows.reshape(-1)  # indices, not slices, in the loops: no reference counting
    cur = np.zeros(widest, rows.dtype)
    toggled = np.empty(widest, np.int64)
    near = np.empty(widest, np.int64)
    is_toggled = np.zeros(widest, np.bool_)
    masks = np.zeros(widest // 32, np.uint32)
    for n in range(images_from, images_to):
        row = n * width  # image n's clean values in flat
        for d in range(n_draws):
            # 1. the first layer's toggled bits of this (draw, image)
            start = first_ptr[d * (n_images + 1) + n]
            n_toggled = first_ptr[d * (n_images + 1) + n + 1] - start
            for t in range(n_toggled):
                toggled[t] = first_toggled[start + t]
                is_toggled[toggled[t]] = True
            for layer in range(1, n_layers):
                out = outs[layer]
                n_words = (out + 31) // 32
                tail = _ALL >> np.uint32(32 * n_words - out)
                last = layer == n_layers - 1
                below = row + row_offset[layer - 1]
                clean = row + row_offset[layer]  # this layer's clean values in flat
                segment = d * n_layers + layer
                p0 = ptr_offset[segment]
                if n_toggled == 0 and not last and flip_ptr[p0 + out] == flip_ptr[p0]:
                    continue  # nothing reaches this layer: no toggled input, no flip
                bound = d * row_offset[n_layers] + row_offset[layer]  # in bounds
                if n_toggled == 0 and not last:
                    # 2. inputs unchanged: only flipped neurons within reach can change;
                    # few of them (low BER): a direct look, else a mask
                    first, end = flipped_offset[segment], flipped_offset[segment + 1]
                    if 16 * (end - first) < out:
                        n_near = 0
                        for f in range(first, end):
                            near[n_near] = flipped[f]
                            n_near += abs(flat[clean + flipped[f]]) <= bounds[bound + flipped[f]]
                    else:
                        _within_masks(flat, clean, bounds, bound, n_words, tail, masks)
                        n_near = _set_bits(masks, n_words, near)
                    for k in range(n_near):
                        i = near[k]
                        change = _flip_change(flat, below, flip_ptr[p0 + i],
                                              flip_ptr[p0 + i + 1], flip_in, flip_sign,
                                              is_toggled)
                        moved = flat[clean + i] + directions[row_offset[layer] + i] * change
                        if (moved >= 0) != (flat[clean + i] >= 0):
                            toggled[n_toggled] = i
                            n_toggled += 1
                    for t in range(n_toggled):
                        is_toggled[toggled[t]] = True
                    continue
                # 3. the new margins of every neuron, in cur
                for q in range(n_words):
                    copy_lanes(cur, 32 * q, flat, clean + 32 * q)
                for t in range(n_toggled):
                    # x_j goes from +-1 to -+1: cur += -2 x_j (direction * w_j)
                    j = toggled[t]
                    invert = _ALL if flat[below + j] >= 0 else np.uint32(0)
                    begin = column_offset[layer] + j * n_words
                    for q in range(n_words):
                        add_signed_bits(cur, 32 * q, columns[begin + q] ^ invert)
                # flipped weights, only where they can reach the threshold (bounds:
                # -1 without flips; at the output, every flipped score is recomputed)
                _within_masks(cur, 0, bounds, bound, n_words, tail, masks)
                for k in range(_set_bits(masks, n_words, near)):
                    i = near[k]
                    change = _flip_change(flat, below, flip_ptr[p0 + i], flip_ptr[p0 + i + 1],
                                          flip_in, flip_sign, is_toggled)
                    cur[i] += directions[row_offset[layer] + i] * change
                for t in range(n_toggled):
                    is_toggled[toggled[t]] = False
                if last:
                    break
                # 4. the neurons whose sign changed: the next layer's toggled inputs
                for q in range(n_words):
                    masks[q] = sign_changed_bits(cur, 32 * q, flat, clean + 32 * q)
                masks[n_words - 1] &= tail
                n_toggled = _set_bits(masks, n_words, toggled)
                for t in range(n_toggled):
                    is_toggled[toggled[t]] = True
            predictions[d, n - images_from] = best_class(cur, scale, offset, n_classes)
    return predictions


# serial and without the GIL: `mrambnn.engine.threads.in_blocks` runs it in threads
draws_kernel = njit(cache=True, nogil=True)(_draws_body)
