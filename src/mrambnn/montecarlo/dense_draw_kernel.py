"""The compiled kernel of `mrambnn.montecarlo.dense_draws`: many fault draws of an
all-dense network, image by image, only what changes.

For one image and one draw the kernel walks the layers after the first:

1. the first layer's toggled bits of this (draw, image), found beforehand;
2. where no input of a layer toggled, only neurons with flipped weights can change, and
   only those whose clean margin lies within reach of their flips: each is settled
   exactly;
3. otherwise every neuron's new margin is its clean margin plus ``-2 x_j (direction w_j)``
   for each toggled input j (one 32-lane masked add per 32 neurons), plus the exact effect
   of its flipped weights where the margin is within reach of them;
4. the neurons whose sign now differs from the clean one are the next layer's toggled
   inputs; at the output layer the class scores give the prediction.

Arguments come in groups (`NetArrays`, `DrawArrays`); the arrays are described there.
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


@njit(inline="always", cache=True)
def _first_layer_toggles(draws, n_images, d, n, toggled, is_toggled
                         ):  # type: ignore[no-untyped-def]
    """Step 1: the first layer's toggled bits of image n under draw d; returns how many."""
    start = draws.first_ptr[d * (n_images + 1) + n]
    n_toggled = draws.first_ptr[d * (n_images + 1) + n + 1] - start
    for t in range(n_toggled):
        toggled[t] = draws.first_toggled[start + t]
        is_toggled[toggled[t]] = True
    return n_toggled


@njit(inline="always", cache=True)
def _flipped_neurons_only(net, draws, flat, layer, segment, below, clean, bound, out,
                          n_words, tail, scratch):  # type: ignore[no-untyped-def]
    """Step 2, no input toggled: the neurons whose flips move them across zero, as the
    next layer's toggled inputs; returns how many. Few flipped neurons (low BER): a direct
    look at each; else a mask of those within reach."""
    toggled, near, is_toggled, masks = scratch[1], scratch[2], scratch[3], scratch[4]
    p0 = draws.ptr_offset[segment]
    first, end = draws.flipped_offset[segment], draws.flipped_offset[segment + 1]
    if 16 * (end - first) < out:
        n_near = 0
        for f in range(first, end):
            near[n_near] = draws.flipped[f]
            n_near += abs(flat[clean + draws.flipped[f]]) <= draws.bounds[bound
                                                                          + draws.flipped[f]]
    else:
        _within_masks(flat, clean, draws.bounds, bound, n_words, tail, masks)
        n_near = _set_bits(masks, n_words, near)
    n_toggled = 0
    for k in range(n_near):
        i = near[k]
        change = _flip_change(flat, below, draws.flip_ptr[p0 + i], draws.flip_ptr[p0 + i + 1],
                              draws.flip_in, draws.flip_sign, is_toggled)
        moved = flat[clean + i] + net.directions[net.row_offset[layer] + i] * change
        if (moved >= 0) != (flat[clean + i] >= 0):
            toggled[n_toggled] = i
            n_toggled += 1
    for t in range(n_toggled):
        is_toggled[toggled[t]] = True
    return n_toggled


@njit(inline="always", cache=True)
def _new_margins(net, draws, flat, layer, segment, below, clean, bound, n_toggled, n_words,
                 tail, scratch):  # type: ignore[no-untyped-def]
    """Step 3: every neuron's margin under the draw, into ``scratch[0]``: the clean one,
    the toggled inputs' columns, and the flips of the neurons within reach of them
    (bounds: -1 without flips; at the output, every flipped score is recomputed)."""
    cur, toggled, near, is_toggled, masks = scratch
    for q in range(n_words):
        copy_lanes(cur, 32 * q, flat, clean + 32 * q)
    for t in range(n_toggled):
        # x_j goes from +-1 to -+1: cur += -2 x_j (direction * w_j)
        j = toggled[t]
        invert = _ALL if flat[below + j] >= 0 else np.uint32(0)
        begin = net.column_offset[layer] + j * n_words
        for q in range(n_words):
            add_signed_bits(cur, 32 * q, net.columns[begin + q] ^ invert)
    p0 = draws.ptr_offset[segment]
    _within_masks(cur, 0, draws.bounds, bound, n_words, tail, masks)
    for k in range(_set_bits(masks, n_words, near)):
        i = near[k]
        change = _flip_change(flat, below, draws.flip_ptr[p0 + i], draws.flip_ptr[p0 + i + 1],
                              draws.flip_in, draws.flip_sign, is_toggled)
        cur[i] += net.directions[net.row_offset[layer] + i] * change
    for t in range(n_toggled):
        is_toggled[toggled[t]] = False


@njit(inline="always", cache=True)
def _sign_changes(flat, clean, n_words, tail, scratch):  # type: ignore[no-untyped-def]
    """Step 4: the neurons whose sign differs from the clean one become the next layer's
    toggled inputs; returns how many."""
    cur, toggled, is_toggled, masks = scratch[0], scratch[1], scratch[3], scratch[4]
    for q in range(n_words):
        masks[q] = sign_changed_bits(cur, 32 * q, flat, clean + 32 * q)
    masks[n_words - 1] &= tail
    n_toggled = _set_bits(masks, n_words, toggled)
    for t in range(n_toggled):
        is_toggled[toggled[t]] = True
    return n_toggled


def _draws_body(net, draws, images_from, images_to):  # type: ignore[no-untyped-def]
    """Predictions (D, images_to - images_from) of the D draws on those images."""
    n_images, width = net.rows.shape
    n_layers = net.outs.size
    n_draws = (draws.ptr_offset.size - 1) // n_layers
    widest = (net.outs.max() + 31) // 32 * 32
    n_classes = net.outs[n_layers - 1]
    predictions = np.empty((n_draws, images_to - images_from), np.int64)
    flat = net.rows.reshape(-1)  # indices, not slices, in the loops: no reference counting
    # cur (new margins), toggled, near (neuron lists), is_toggled (flags), masks (bits)
    scratch = (np.zeros(widest, net.rows.dtype), np.empty(widest, np.int64),
               np.empty(widest, np.int64), np.zeros(widest, np.bool_),
               np.zeros(widest // 32, np.uint32))
    for n in range(images_from, images_to):
        row = n * width  # image n's clean values in flat
        for d in range(n_draws):
            n_toggled = _first_layer_toggles(draws, n_images, d, n, scratch[1], scratch[3])
            for layer in range(1, n_layers):
                out = net.outs[layer]
                n_words = (out + 31) // 32
                tail = _ALL >> np.uint32(32 * n_words - out)
                last = layer == n_layers - 1
                below = row + net.row_offset[layer - 1]
                clean = row + net.row_offset[layer]  # this layer's clean values in flat
                segment = d * n_layers + layer
                p0 = draws.ptr_offset[segment]
                if n_toggled == 0 and not last and draws.flip_ptr[p0 + out] == draws.flip_ptr[p0]:
                    continue  # nothing reaches this layer: no toggled input, no flip
                bound = d * net.row_offset[n_layers] + net.row_offset[layer]  # in bounds
                if n_toggled == 0 and not last:
                    n_toggled = _flipped_neurons_only(net, draws, flat, layer, segment, below,
                                                      clean, bound, out, n_words, tail,
                                                      scratch)
                    continue
                _new_margins(net, draws, flat, layer, segment, below, clean, bound,
                             n_toggled, n_words, tail, scratch)
                if not last:
                    n_toggled = _sign_changes(flat, clean, n_words, tail, scratch)
            predictions[d, n - images_from] = best_class(scratch[0], net.scale, net.offset,
                                                         n_classes)
    return predictions


# serial and without the GIL: `mrambnn.engine.threads.in_blocks` runs it in threads
draws_kernel = njit(cache=True, nogil=True)(_draws_body)
