"""Many fault draws of an all-dense BNN at once, image by image, only what changes.

`DenseDrawEvaluator` keeps, for a fixed image set, every hidden neuron's clean margin
``m = direction * a - threshold`` (bit = m >= 0) and the output layer's clean
pre-activations. A draw is given as its stored weights; its flipped weights are listed
per layer and per output neuron. A neuron with f flipped weights moves by at most
``bound = 2 sum_j max|x_j|`` over them (2 f for +-1 inputs), so only where ``-bound <= m <
bound`` can its sign turn and is the exact change summed.

- First layer (inputs never change): per draw, for each neuron with flipped weights, the
  images within reach are found by binary search in that neuron's sorted margins, then
  settled in branch-free passes (`changed_by_flips`), giving each image's list of
  toggled first-layer bits.
- Later layers, in a compiled kernel (`mrambnn.montecarlo.dense_draw_kernel`) that takes
  one image at a time and, for each draw, walks the layers depth-first: the inputs that
  toggled below (a short list) move every neuron by ``-2 x_j w_ij`` (one vectorised
  column add each; in int8 lanes where few inputs toggled and few weights flipped),
  flipped weights are summed where within reach, and the neurons whose bit now differs
  from the clean one are the next layer's toggled inputs. An image's clean margins are
  read once for all the draws. Before the last hidden layer an image whose top class no
  change within reach can overturn is settled at once (`mrambnn.montecarlo.output_slack`).

The result equals a full re-evaluation (``a' = a + W (x' - x) + (W' - W) x'``, exact
integers), prediction by prediction.
"""

from collections.abc import Sequence

import numpy as np
from numba import njit

from mrambnn.bits import unpack_signs
from mrambnn.engine import Affine, Dense, PackedNet, Threshold, dense_preactivation, forward
from mrambnn.engine.threads import IMAGES_PER_BLOCK, in_blocks
from mrambnn.montecarlo.dense_draw_kernel import DrawArrays, NetArrays, draws_kernel
from mrambnn.montecarlo.flips import (
    EMPTY_INDEX,
    changed_by_flips,
    csr_offsets,
    flipped_weights,
)
from mrambnn.montecarlo.output_slack import slack_table

__all__ = ["CELL_LIMIT", "SLACK_TABLE_LIMIT", "DenseDrawEvaluator", "supports"]

SLACK_TABLE_LIMIT = 2**18  # classes x last hidden width up to which images settle early
CELL_LIMIT = 2**16  # flip cells (2 input + bit) below it are kept in the neurons' records


def supports(net: PackedNet) -> bool:
    """Whether ``net`` has this evaluator's layout: two or more layers, all dense."""
    return len(net.layers) >= 2 and all(isinstance(layer, Dense) for layer in net.layers)


@njit(cache=True, nogil=True)
def _group_by_image(images, neurons, n_images):  # type: ignore[no-untyped-def]
    """Counting sort of (image, neuron) pairs by image: (N + 1,) offsets, neurons.
    (A stable ``argsort`` with ``bincount`` offsets measured 5-12x slower.)"""
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


@njit(cache=True, nogil=True)
def _segment(outputs, inputs, signs, n_out, wide, direction, pad, inline, recompute,
             always_within):  # type: ignore[no-untyped-def]
    """One layer's flipped weights of one draw (``outputs``, ``inputs``, clean ``signs``
    +-1, sorted by output) as the kernel reads them (`DrawArrays`): per output its count
    (n_out,) and CSR starts (n_out + 1,); the cells ``2 input + (sign > 0 xor direction <
    0)`` (int32); per output, padded to ``wide``, the 64-bit record (up to three cells
    inline where ``inline``, the rest ``pad``) and the bound (2 x count; ``always_within``
    where ``recompute``; -1 without flips); the outputs with flips."""
    count = np.zeros(n_out, np.int64)
    for o in outputs:
        count[o] += 1
    starts = np.zeros(n_out + 1, np.int64)
    for o in range(n_out):
        starts[o + 1] = starts[o] + count[o]
    cells = np.empty(outputs.size, np.int32)
    for k in range(outputs.size):
        cells[k] = 2 * inputs[k] + ((signs[k] > 0) != (direction[outputs[k]] < 0))
    records = np.zeros(wide, np.uint64)
    bounds = np.full(wide, -1, np.int64)
    flipped = np.flatnonzero(count)
    for o in flipped:
        bounds[o] = always_within if recompute else 2 * count[o]
        # the count field; 2^16 - 1 alone (cells not inline) says: read the cell list
        record = np.uint64(min(count[o], 2**16 - 1) if inline else 2**16 - 1) << np.uint64(48)
        if inline and count[o] <= 3:
            for slot in range(3):
                cell = cells[starts[o] + slot] if slot < count[o] else pad
                record |= np.uint64(cell) << np.uint64(16 * slot)
        records[o] = record
    return count, starts, cells, records, bounds, flipped


def _padded(values: np.ndarray, width: int) -> np.ndarray:
    """(N, n) -> (N, width), zeros on the right."""
    return np.pad(values, ((0, 0), (0, width - values.shape[1])))


class DenseDrawEvaluator:
    """Exact predictions of an all-dense ``net`` under many weight draws, on ``images``.

    Args:
        net: the clean network (`supports`); the last layer has an `Affine` head.
        images: (N, H, W, C) uint8 images, evaluated once here.
        prune: skip what provably cannot change a prediction: a neuron whose margin its
            flips cannot cross, an image whose top class no change that reaches the last
            hidden layer can overturn (`mrambnn.montecarlo.output_slack`; networks with
            up to `SLACK_TABLE_LIMIT` output weights). False: every
            neuron with a flipped weight is recomputed and every image evaluated (the
            same predictions, slower; for checking).
    Memory: per image, 3 bytes per hidden neuron (5 for very wide layers), 4 per input
    and 8 per first-layer neuron (its margins sorted per neuron), 1 KiB of slack; the
    weights of the layers after the first, one bit each.
    """

    def __init__(self, net: PackedNet, images: np.ndarray, *, prune: bool = True) -> None:
        if not supports(net):
            raise ValueError("DenseDrawEvaluator needs two or more layers, all dense")
        self.net = net
        self.prune = prune
        self.layers: list[Dense] = list(net.layers)  # type: ignore[arg-type]
        first = self.layers[0]
        x0 = net.first_input(images).reshape(len(images), -1)  # the first layer's integers
        self.n_images = len(x0)
        # (in, N): one input's images adjacent; uint8 where the inputs are pixels (half the
        # cache lines of int16 for the first layer's per-draw search)
        small = x0.size == 0 or (x0.min() >= 0 and x0.max() <= 255)
        self.x0_t = np.ascontiguousarray(x0.T, dtype=np.uint8 if small else np.int16)
        self.x0_min = x0.min(axis=0, initial=0).astype(np.int64)  # zero: same bound if empty
        self.x0_max = x0.max(axis=0, initial=0).astype(np.int64)
        _, hidden = forward(net, images, keep_hidden=True)
        margins, inputs = [], x0
        for layer, bits in zip(self.layers[:-1], hidden, strict=True):
            head = layer.head
            assert isinstance(head, Threshold)
            a = dense_preactivation(layer, inputs).astype(np.int64)
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
        out_clean = dense_preactivation(self.layers[-1], inputs)
        self.outs = np.array([layer.out_features for layer in self.layers], np.int64)
        self.wide = (self.outs + 31) // 32 * 32  # each layer padded to whole 32-bit words
        self.row_offset = csr_offsets(self.wide)
        self.rows = np.concatenate([_padded(m, w) for m, w in
                                    zip([*margins, out_clean], self.wide, strict=True)],
                                   axis=1).astype(dtype)
        self.always_within = 2**15 - 1 if dtype is np.int16 else 2**31 - 1  # bound: |x| < it
        # int8 copy for the kernel's step 4' (few toggled inputs: most image-draws at low
        # BER); not where every flipped neuron is to be recomputed
        self.small_rows = (np.clip(self.rows, -128, 127).astype(np.int8) if prune
                           else np.zeros((0, 0), np.int8))
        hidden_width = int(self.row_offset[len(self.layers) - 1])
        hidden_bits: np.ndarray = np.greater_equal(self.rows[:, :hidden_width], 0)
        self.clean_bits = np.ascontiguousarray(
            np.packbits(hidden_bits, axis=1, bitorder="little")).view(np.uint32)
        self.scale = np.ascontiguousarray(head.scale, dtype=np.float64)
        self.offset = np.ascontiguousarray(head.offset, dtype=np.float64)
        scores = head.apply(out_clean.astype(np.int64))
        self.clean_predictions = np.argmax(scores, axis=1)
        # float rounding of a score is ~1e-16 of its size: this leaves ample room
        self.tolerance = 1e-6 * (1.0 + float(np.abs(scores).max(initial=0.0)))
        output = self.layers[-1]
        # the table costs N x classes x last hidden width to build: past this size (many
        # classes, wide layers) images are not settled early
        if (prune and len(self.layers) >= 3
                and output.out_features * output.in_features <= SLACK_TABLE_LIMIT):
            self.slack = slack_table(
                margins[-1], hidden[-1].astype(bool),
                unpack_signs(output.weight_words, output.in_features),
                scores, self.scale)
        else:
            self.slack = np.zeros((self.n_images, 0), np.float32)
        # layer l > 0, input j: the bits direction_i * w_ij = +1 of every output i, packed
        # little-endian in uint32 words, then the next input
        columns = []
        self.layer_directions = [layer.head.direction.astype(np.int64) for layer in self.layers]
        for layer, wide, direction in zip(self.layers, self.wide, self.layer_directions,
                                          strict=True):
            if layer is not first:
                signs = unpack_signs(layer.weight_words, layer.in_features)  # (out, in)
                positive = _padded((signs * direction[:, None] > 0).T, wide)  # (in, wide)
                packed = np.packbits(positive, axis=1, bitorder="little")
                columns.append(np.ascontiguousarray(packed).view(np.uint32).ravel())
        self.column_offset = csr_offsets([0, 0] + [c.size for c in columns])[1:-1]
        self.columns = np.concatenate(columns)

    def _draw_flips(self, words: Sequence[np.ndarray]
                    ) -> tuple[list[np.ndarray], list[tuple[np.ndarray, ...]]]:
        """One draw's part of `_flips`: the first layer's (N + 1,) offsets and toggles,
        then per layer `_segment`'s arrays. Runs in a worker thread: compiled code here is
        serial and releases the GIL."""
        if len(words) != len(self.layers):
            raise ValueError(f"expected {len(self.layers)} weight arrays, got {len(words)}")
        first = self.layers[0]
        outputs, inputs, signs = flipped_weights(first.weight_words, np.asarray(words[0]))
        if outputs.size:
            images, neurons = changed_by_flips(
                self.first_sorted, self.first_order, outputs, inputs, signs,
                self.first_direction, self.x0_t, self.x0_min, self.x0_max, packed=False,
                skip=np.zeros(self.n_images, bool), serial=True)
            first_part = list(_group_by_image(images, neurons, self.n_images))
        else:
            first_part = [np.zeros(self.n_images + 1, np.int64), EMPTY_INDEX]
        pad = 2 * int(self.wide.max())  # the kernel's input bit `widest` is always 0
        segments = []
        for layer, faulty, wide, direction in zip(self.layers, words, self.wide,
                                                  self.layer_directions, strict=True):
            out, inp, sign = (flipped_weights(layer.weight_words, np.asarray(faulty))
                              if layer is not first else (EMPTY_INDEX,) * 3)
            # the output layer's flipped scores, and without pruning every flipped
            # neuron, are recomputed whatever their margin
            recompute = layer is self.layers[-1] or not self.prune
            segments.append(_segment(out, inp, sign, layer.out_features, int(wide),
                                     direction, pad, pad < CELL_LIMIT, recompute,
                                     self.always_within))
        return first_part, segments

    def _flips(self, draws: Sequence[Sequence[np.ndarray]]) -> DrawArrays:
        """Flat per-(draw, layer) arrays for the kernel; segment (d, l) of each starts at
        its offsets[d * n_layers + l] (`DrawArrays`). The draws are prepared in parallel
        threads, the results assembled in draw order."""
        blocks = in_blocks(lambda start, end: [self._draw_flips(w) for w in draws[start:end]],
                           len(draws))
        parts = [part for block in blocks for part in block]
        segments = [segment for _, draw in parts for segment in draw]
        counts, starts, cells, records, bounds, flipped = zip(*segments, strict=True)
        # each segment's CSR starts, shifted by the flips of the segments before it
        shift = np.repeat(csr_offsets([c.size for c in cells])[:-1],
                          [s.size for s in starts])
        first_sizes = [toggled.size for (_, toggled), _ in parts]
        first_shift = np.repeat(csr_offsets(first_sizes)[:-1], self.n_images + 1)
        last = len(self.layers) - 1
        output_reach = [4 * float(np.max(counts[d * len(self.layers) + last]
                                         * np.abs(self.scale), initial=0))
                        for d in range(len(draws))]
        sizes = [layer.out_features for layer in self.layers] * len(draws)
        all_bounds = np.concatenate(bounds)
        return DrawArrays(
            first_ptr=np.concatenate([offsets for (offsets, _), _ in parts]) + first_shift,
            first_toggled=np.concatenate([toggled for (_, toggled), _ in parts]),
            flip_ptr=(np.concatenate(starts) + shift).astype(np.int32),
            ptr_offset=csr_offsets([s + 1 for s in sizes]),
            flip_cells=np.concatenate(cells),
            flip_records=np.concatenate(records),
            bounds=all_bounds.astype(self.rows.dtype),
            small_bounds=np.clip(all_bounds, -1, 127).astype(np.int8),
            flipped=np.concatenate(flipped),
            flipped_offset=csr_offsets([f.size for f in flipped]),
            most_flips=np.array([c.max(initial=0) for c in counts], np.int64),
            output_reach=np.array(output_reach))

    def predict_draws(self, draws: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
        """Predicted labels (D, N) for D draws, each a sequence of stored weight arrays
        (one (out, n_words) uint64 array per layer)."""
        if not draws:
            return np.zeros((0, self.n_images), np.int64)
        net = NetArrays(rows=self.rows, small_rows=self.small_rows, clean_bits=self.clean_bits,
                        row_offset=self.row_offset,
                        columns=self.columns, column_offset=self.column_offset,
                        outs=self.outs, scale=self.scale, offset=self.offset, slack=self.slack,
                        clean_predictions=self.clean_predictions, tolerance=self.tolerance)
        flips = self._flips(draws)
        blocks = in_blocks(lambda start, end: draws_kernel(net, flips, start, end),
                           self.n_images, min_block=IMAGES_PER_BLOCK)
        return np.concatenate(blocks, axis=1)
