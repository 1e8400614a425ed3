"""Many fault draws of an all-dense BNN at once, image by image, only what changes.

`DenseDrawEvaluator` keeps, for a fixed image set, every hidden neuron's clean margin
``m = direction * a - threshold`` (bit = m >= 0) and the output layer's clean
pre-activations. A draw is given as its stored weights; its flipped weights are listed
per layer and per output neuron. A neuron with f flipped weights moves by at most
``bound = 2 sum_j max|x_j|`` over them (2 f for +-1 inputs), so only where ``|m| <= bound``
is the exact change summed.

- First layer (inputs never change): per draw, for each neuron with flipped weights, the
  images within reach are found by binary search in that neuron's sorted margins
  (`changed_by_flips`), giving each image's list of toggled first-layer bits.
- Later layers, in a compiled kernel that takes one image at a time and, for each draw,
  walks the layers depth-first: the inputs that toggled below (a short list) move every
  neuron by ``-2 x_j w_ij`` (one vectorised column add each), flipped weights are summed
  where within reach, and the neurons whose bit now differs from the clean one are the
  next layer's toggled inputs. An image's clean margins are read once for all the draws.

The result equals a full re-evaluation (``a' = a + W (x' - x) + (W' - W) x'``, exact
integers), prediction by prediction.
"""

from collections.abc import Sequence

import numpy as np
from numba import njit, prange

from mrambnn.bits import pack_bits, unpack_signs
from mrambnn.engine.flip_kernels import changed_by_flips, flipped_weights
from mrambnn.engine.kernels import _popcount, best_class, parallel_enabled
from mrambnn.engine.layers import Affine, Dense, Threshold
from mrambnn.engine.network import PackedNet, forward
from mrambnn.engine.ops import binary_dense_preactivation, integer_dense_preactivation

__all__ = ["DenseDrawEvaluator", "supports"]

_CHUNK = 64  # images per parallel task
_EMPTY = np.zeros(0, np.int64)


def supports(net: PackedNet) -> bool:
    """Whether ``net`` has this evaluator's layout: two or more layers, all dense."""
    return len(net.layers) >= 2 and all(isinstance(layer, Dense) for layer in net.layers)


_GATHER_BYTES = np.uint64(0x0102040810204080)  # (8 bytes of 0 / 1) * this >> 56: 8 bits


@njit(cache=True)
def _flags_to_masks(flags, out, masks):  # type: ignore[no-untyped-def]
    """Pack ``flags[:out]`` (uint8 0 / 1, length a multiple of 64) into uint64 ``masks``."""
    for i in range(out, (out + 63) // 64 * 64):
        flags[i] = 0
    words = flags.view(np.uint64)
    for w in range((out + 63) // 64):
        mask = np.uint64(0)
        for q in range(8):
            mask |= ((words[8 * w + q] * _GATHER_BYTES) >> np.uint64(56)) << np.uint64(8 * q)
        masks[w] = mask


@njit(cache=True)
def _mask_within(cur, bound, out, flags, masks):  # type: ignore[no-untyped-def]
    """Bit i of ``masks`` (uint64 words) set where ``|cur[i]| <= bound[i]``, i < out."""
    for i in range(out):  # byte flags first: this loop vectorises, a bit-packing one not
        flags[i] = abs(cur[i]) <= bound[i]
    _flags_to_masks(flags, out, masks)


@njit(cache=True)
def _mask_changed(cur, clean, out, flags, masks):  # type: ignore[no-untyped-def]
    """Bit i of ``masks`` set where ``cur[i]`` and ``clean[i]`` differ in sign (>= 0)."""
    for i in range(out):
        flags[i] = (cur[i] < 0) != (clean[i] < 0)
    _flags_to_masks(flags, out, masks)


@njit(inline="always", cache=True)
def _set_bits(masks, out, found):  # type: ignore[no-untyped-def]
    """The indices of the set bits of ``masks`` (bits 0 .. out - 1) into ``found``,
    ascending; returns how many. One branch per set bit, not one per neuron."""
    count = 0
    for w in range((out + 63) // 64):
        word = masks[w]
        while word:
            lowest = word & (~word + np.uint64(1))
            found[count] = 64 * w + np.int64(_popcount(lowest - np.uint64(1)))
            count += 1
            word ^= lowest
    return count


@njit(inline="always", cache=True)
def _flip_change(row, below, begin, end, flip_in, flip_sign, is_toggled
                 ):  # type: ignore[no-untyped-def]
    """``-2 sum w_q x'_q`` over a neuron's flipped weights q in [begin, end) (clean signs
    w_q), with x' the layer's inputs: the clean bits of ``row`` from ``below``, toggled
    where ``is_toggled``."""
    change = 0
    for q in range(begin, end):
        j = flip_in[q]
        x = 1 if (row[below + j] >= 0) != is_toggled[j] else -1
        change -= 2 * flip_sign[q] * x
    return change


def _draws_body(rows, row_offset, weights_t, weight_offset, directions, outs, first_ptr,
                first_toggled, flip_ptr, ptr_offset, flip_in, flip_sign, bounds, flipped,
                flipped_offset, scale, offset):  # type: ignore[no-untyped-def]
    """Predictions (D, N) of D draws; the arrays are `DenseDrawEvaluator`'s.

    rows (N, sum of widths): per image, every layer's clean margins (first layer: sign
    only) then the output pre-activations, layer l at ``row_offset[l]``; weights_t flat
    int8 columns ``direction_i * w_ij`` of layers >= 1 (layer l's input j at
    ``weight_offset[l] + j * out_l``); first_ptr / first_toggled the first layer's
    toggles per (draw, image); flip_ptr, flip_in, flip_sign, bounds, flipped: the draws'
    flips (`DenseDrawEvaluator._flips`).
    """
    n_images = rows.shape[0]
    n_layers = outs.size
    n_draws = (ptr_offset.size - 1) // n_layers
    widest = outs.max()
    n_classes = outs[n_layers - 1]
    predictions = np.empty((n_draws, n_images), np.int64)
    for chunk in prange((n_images + _CHUNK - 1) // _CHUNK):
        cur = np.empty(widest, rows.dtype)
        toggled = np.empty(widest, np.int64)
        near = np.empty(widest, np.int64)
        is_toggled = np.zeros(widest, np.bool_)
        masks = np.zeros((widest + 63) // 64, np.uint64)
        flags = np.zeros((widest + 63) // 64 * 64, np.uint8)
        for n in range(chunk * _CHUNK, min(n_images, (chunk + 1) * _CHUNK)):
            row = rows[n]
            for d in range(n_draws):
                start = first_ptr[d * (n_images + 1) + n]
                n_toggled = first_ptr[d * (n_images + 1) + n + 1] - start
                for t in range(n_toggled):
                    toggled[t] = first_toggled[start + t]
                    is_toggled[toggled[t]] = True
                for layer in range(1, n_layers):
                    out = outs[layer]
                    last = layer == n_layers - 1
                    below = row_offset[layer - 1]
                    segment = d * n_layers + layer
                    p0 = ptr_offset[segment]
                    if n_toggled == 0 and not last and flip_ptr[p0 + out] == flip_ptr[p0]:
                        continue  # nothing reaches this layer: no toggled input, no flip
                    # slices indexed by the loop variable alone: no negative-index checks,
                    # so LLVM vectorises these loops
                    clean = row[row_offset[layer]:row_offset[layer] + out]
                    b0 = d * row_offset[n_layers] + row_offset[layer]
                    bound = bounds[b0:b0 + out]
                    if n_toggled == 0 and not last:
                        # inputs unchanged: only flipped neurons within reach can change;
                        # few of them (low BER): a direct look, else a vectorised mask
                        first, end = flipped_offset[segment], flipped_offset[segment + 1]
                        if 16 * (end - first) < out:
                            n_near = 0
                            for f in range(first, end):
                                near[n_near] = flipped[f]
                                n_near += abs(clean[flipped[f]]) <= bound[flipped[f]]
                        else:
                            _mask_within(clean, bound, out, flags, masks)
                            n_near = _set_bits(masks, out, near)
                        for k in range(n_near):
                            i = near[k]
                            change = _flip_change(row, below, flip_ptr[p0 + i],
                                                  flip_ptr[p0 + i + 1], flip_in, flip_sign,
                                                  is_toggled)
                            moved = clean[i] + directions[row_offset[layer] + i] * change
                            if (moved >= 0) != (clean[i] >= 0):
                                toggled[n_toggled] = i
                                n_toggled += 1
                        for t in range(n_toggled):
                            is_toggled[toggled[t]] = True
                        continue
                    for i in range(out):  # the new margins of every neuron, in cur
                        cur[i] = clean[i]
                    for t in range(n_toggled):
                        j = toggled[t]
                        step = -2 if row[below + j] >= 0 else 2
                        begin = weight_offset[layer] + j * out
                        column = weights_t[begin:begin + out]
                        for i in range(out):
                            cur[i] += step * column[i]
                    # flipped weights, only where they can reach the threshold (bounds:
                    # -1 without flips; at the output, every flipped score is recomputed)
                    _mask_within(cur, bound, out, flags, masks)
                    for k in range(_set_bits(masks, out, near)):
                        i = near[k]
                        change = _flip_change(row, below, flip_ptr[p0 + i], flip_ptr[p0 + i + 1],
                                              flip_in, flip_sign, is_toggled)
                        cur[i] += directions[row_offset[layer] + i] * change
                    for t in range(n_toggled):
                        is_toggled[toggled[t]] = False
                    if last:
                        break
                    _mask_changed(cur, clean, out, flags, masks)
                    n_toggled = _set_bits(masks, out, toggled)
                    for t in range(n_toggled):
                        is_toggled[toggled[t]] = True
                predictions[d, n] = best_class(cur, scale, offset, n_classes)
    return predictions


_draws = {False: njit(cache=True)(_draws_body), True: njit(parallel=True, cache=True)(_draws_body)}


@njit(cache=True)
def _group_by_image(images, neurons, n_images):  # type: ignore[no-untyped-def]
    """Counting sort of (image, neuron) pairs by image: (N + 1,) offsets, neurons."""
    offsets = np.zeros(n_images + 1, np.int64)
    for n in images:
        offsets[n + 1] += 1
    for n in range(n_images):
        offsets[n + 1] += offsets[n]
    filled = offsets[:-1].copy()
    grouped = np.empty(neurons.size, np.int64)
    for k in range(images.size):
        grouped[filled[images[k]]] = neurons[k]
        filled[images[k]] += 1
    return offsets, grouped


def _offsets(sizes: Sequence[int] | np.ndarray) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _preactivation(layer: Dense, inputs: np.ndarray) -> np.ndarray:
    if layer.integer_input:
        return integer_dense_preactivation(inputs, layer.weight_words, layer.in_features)
    return binary_dense_preactivation(pack_bits(inputs > 0), layer.weight_words,
                                      layer.in_features)


class DenseDrawEvaluator:
    """Exact predictions of an all-dense ``net`` under many weight draws, on ``images``.

    Args:
        net: the clean network (`supports`); the last layer has an `Affine` head.
        images: (N, H, W, C) uint8 images, evaluated once here.
    Memory: per image, 2 bytes per hidden neuron (4 for very wide layers), 4 per input
    and 8 per first-layer neuron (its margins sorted per neuron).
    """

    def __init__(self, net: PackedNet, images: np.ndarray) -> None:
        if not supports(net):
            raise ValueError("DenseDrawEvaluator needs two or more layers, all dense")
        self.net = net
        self.layers: list[Dense] = list(net.layers)  # type: ignore[arg-type]
        first = self.layers[0]
        x = np.asarray(images).astype(np.int16).reshape(len(images), -1) - np.int16(
            net.input_offset)
        x0 = x  # the engine's first layer always takes the integer pixels
        self.n_images = len(x0)
        self.x0_t = np.ascontiguousarray(x0.T, dtype=np.int16)  # (in, N): one input's images
        self.x0_absmax = np.abs(x0).max(axis=0, initial=0).astype(np.int64)
        _, hidden = forward(net, images, keep_hidden=True)
        margins, inputs = [], x0
        for layer, bits in zip(self.layers[:-1], hidden, strict=True):
            head = layer.head
            assert isinstance(head, Threshold)
            a = _preactivation(layer, inputs).astype(np.int64)
            if layer is first:
                margins.append(head.direction * a - head.threshold)
            else:  # a threshold beyond +-(in + 1) changes no bit: clipped, margins stay small
                limit = layer.in_features + 1
                margins.append(head.direction * a - np.clip(head.threshold, -limit, limit))
            inputs = bits
        self.first_direction = first.head.direction.astype(np.int64)  # type: ignore[union-attr]
        self.first_order = np.argsort(margins[0].T, axis=1, kind="stable").astype(np.int32)
        self.first_sorted = np.ascontiguousarray(
            np.take_along_axis(margins[0].T, self.first_order, axis=1),
            dtype=np.int32 if np.abs(margins[0]).max(initial=0) < 2**30 else np.int64)
        # in the kernel only the sign of a first-layer margin is read
        margins[0] = np.clip(margins[0], -1, 0)
        widest_in = max(layer.in_features for layer in self.layers[1:])
        dtype = np.int16 if 4 * widest_in + 4 < 2**15 else np.int32
        head = self.layers[-1].head
        assert isinstance(head, Affine)
        out_clean = _preactivation(self.layers[-1], inputs)
        self.rows = np.ascontiguousarray(np.concatenate([*margins, out_clean], axis=1),
                                         dtype=dtype)
        self.always_within = 2**15 - 1 if dtype is np.int16 else 2**31 - 1  # bound: |x| <= it
        self.scale = np.ascontiguousarray(head.scale, dtype=np.float64)
        self.offset = np.ascontiguousarray(head.offset, dtype=np.float64)
        self.clean_predictions = np.argmax(head.apply(out_clean.astype(np.int64)), axis=1)
        self.outs = np.array([layer.out_features for layer in self.layers], np.int64)
        self.row_offset = _offsets(self.outs)
        # layer l > 0, input j: direction_i * w_ij for every output i, int8, contiguous
        columns, directions = [], []
        for layer in self.layers:
            head = layer.head
            direction = (head.direction.astype(np.int64) if isinstance(head, Threshold)
                         else np.ones(layer.out_features, np.int64))
            directions.append(direction)
            if layer is not first:
                signs = unpack_signs(layer.weight_words, layer.in_features)  # (out, in)
                columns.append((signs * direction[:, None].astype(np.int8)).T.ravel())
        self.weight_offset = _offsets([0, 0] + [c.size for c in columns])[1:-1]
        self.weights_t = np.ascontiguousarray(np.concatenate(columns), dtype=np.int8)
        self.directions = np.concatenate(directions)  # layer l's at row_offset[l]

    def _first_layer(self, faulty: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N + 1,) offsets and toggled first-layer neurons of every image, for one draw."""
        first = self.layers[0]
        outputs, inputs, signs = flipped_weights(first.weight_words, faulty)
        if outputs.size == 0:
            return np.zeros(self.n_images + 1, np.int64), _EMPTY
        images, neurons = changed_by_flips(
            self.first_sorted, self.first_order, outputs, inputs, signs, self.first_direction,
            self.x0_t, self.x0_absmax, packed=False, skip=np.zeros(self.n_images, bool))
        return _group_by_image(images, neurons, self.n_images)  # type: ignore[no-any-return]

    def _flips(self, draws: Sequence[Sequence[np.ndarray]]) -> tuple[np.ndarray, ...]:
        """Flat per-(draw, layer) arrays for the kernel; segment (d, l) of each starts at
        its offsets[d * n_layers + l]: CSR of flipped weights by output, each output's
        bound (-1: no flipped weight; the output layer: always recomputed), and the outputs
        with flipped weights. Also the first layer's toggles, per draw and image."""
        ptr, flip_in, flip_sign, bounds, first_ptr, first_toggled = [], [], [], [], [], []
        flipped, flipped_sizes = [], []
        total = first_total = 0
        for words in draws:
            if len(words) != len(self.layers):
                raise ValueError(f"expected {len(self.layers)} weight arrays, got {len(words)}")
            offsets, toggled = self._first_layer(np.asarray(words[0]))
            first_ptr.append(first_total + offsets)
            first_toggled.append(toggled)
            first_total += toggled.size
            for layer, faulty in zip(self.layers, words, strict=True):
                out, inp, sign = (flipped_weights(layer.weight_words, np.asarray(faulty))
                                  if layer is not self.layers[0] else (_EMPTY,) * 3)
                counts = np.bincount(out, minlength=layer.out_features)
                ptr.append(total + _offsets(counts))
                total += out.size
                flip_in.append(inp)
                flip_sign.append(sign)
                bound = 2 * counts
                if layer is self.layers[-1]:  # every flipped class score is recomputed
                    bound[counts > 0] = self.always_within
                bound[counts == 0] = -1
                bounds.append(bound)
                flipped.append(np.flatnonzero(counts))
                flipped_sizes.append(flipped[-1].size)
        sizes = [layer.out_features for layer in self.layers] * len(draws)
        return (np.concatenate(first_ptr), np.concatenate(first_toggled),
                np.concatenate(ptr).astype(np.int32), _offsets([s + 1 for s in sizes]),
                np.concatenate(flip_in).astype(np.int32),
                np.concatenate(flip_sign).astype(np.int8),
                np.concatenate(bounds).astype(self.rows.dtype),
                np.concatenate(flipped).astype(np.int64), _offsets(flipped_sizes))

    def predict_draws(self, draws: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
        """Predicted labels (D, N) for D draws, each a sequence of stored weight arrays
        (one (out, n_words) uint64 array per layer)."""
        if not draws:
            return np.zeros((0, self.n_images), np.int64)
        kernel = _draws[parallel_enabled()]
        return kernel(  # type: ignore[call-arg]
            self.rows, self.row_offset, self.weights_t, self.weight_offset, self.directions,
            self.outs, *self._flips(draws), self.scale, self.offset)
