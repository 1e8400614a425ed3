"""The general incremental path: exact predictions of a network whose weights differ a
little, one draw at a time, for the networks no batched evaluator takes.

`mrambnn.montecarlo.evaluator.DrawEvaluator` hands all-dense networks to
`mrambnn.montecarlo.dense_draws` and convolutional ones to `mrambnn.montecarlo.conv_draws`;
the others (a single layer, or pre-activations too large for int16) come here: the clean
network runs once and each layer keeps what it saw and computed; a change between layers
is a sorted list of (image, input index) pairs whose value toggled.

Dense layer, weights W -> W', inputs x -> x' (``a' = a + (W' - W) x + W' (x' - x)``):
- images whose inputs changed: both terms, summed per image from the changed inputs
  and the flipped weights (compiled kernel), then thresholded;
- every other image: only outputs with flipped weights can move, and only where the
  clean margin is within ``2 sum max|x|`` over the flipped inputs: found by binary
  search in the margins sorted per neuron, each settled exactly.
Conv layer: the images with changed inputs are recomputed in full; for the others only
the output channels holding a flipped weight are recomputed. The output layer rescores
the changed images, and every image when its own weights flipped.
Identity with full re-evaluation is tested prediction by prediction.
"""

from collections.abc import Sequence

import numpy as np

from mrambnn.bits import pack_bits, unpack_signs
from mrambnn.engine import (
    Affine,
    Conv,
    Dense,
    PackedNet,
    Threshold,
    binary_dense_preactivation,
    dense_preactivation,
    forward,
    integer_dense_preactivation,
)
from mrambnn.engine.conv import filter_operand
from mrambnn.engine.kernels import conv_bits
from mrambnn.montecarlo.flips import EMPTY_INDEX, changed_by_flips, flipped_weights, update_rows

__all__ = ["GeneralEvaluator"]

# Between layers: (rows, new values) of the images whose layer input changed, rows sorted;
# values are packed +-1 rows (N', n_words) for a dense layer, bool maps for a conv layer.
Changes = tuple[np.ndarray, np.ndarray]
# A changed row is summed input by input while it has fewer than this many toggled inputs
# per weight word, else recomputed by XNOR-popcount.
_SPARSE_LIMIT = 4
# With more flipped weights than this per output, a dense layer is recomputed in full.
_FLIPS_PER_OUTPUT_LIMIT = 8


class _DenseState:
    """A dense layer's clean inputs and margins (also sorted per neuron)."""

    def __init__(self, layer: Dense, x: np.ndarray) -> None:
        self.layer = layer
        self.packed = not layer.integer_input
        # packed (N, n_words) for +-1 inputs; integers transposed (in, N) for gathers
        self.x = pack_bits(x) if self.packed else np.ascontiguousarray(x.T, dtype=np.int32)
        self.x_min = (-np.ones(layer.in_features, np.int64) if self.packed
                      else self.x.min(axis=1, initial=0).astype(np.int64))
        self.x_max = (np.ones(layer.in_features, np.int64) if self.packed
                      else self.x.max(axis=1, initial=0).astype(np.int64))
        a = dense_preactivation(layer, x).astype(np.int64)
        self.weights_t = np.ascontiguousarray(
            unpack_signs(layer.weight_words, layer.in_features).T)  # (in, out) int8
        # no weights (faulty or not) take |a| past the reach: a threshold beyond it is
        # clipped to reach + 1 (every bit kept), so that margins fit int32
        largest = 1 if self.packed else int(max(-self.x_min.min(initial=0),
                                                 self.x_max.max(initial=0)))
        reach = layer.in_features * largest
        if reach >= 2**29:
            raise ValueError(f"a dense layer's sums reach {reach}: beyond the int32 margins "
                             "of incremental evaluation; use the full path")
        if isinstance(layer.head, Threshold):
            threshold = np.clip(layer.head.threshold, -reach - 1, reach + 1)
            self.margin = np.ascontiguousarray(
                layer.head.direction * a - threshold, dtype=np.int32)  # (N, out)
            self.order = np.argsort(self.margin.T, axis=1, kind="stable").astype(np.int32)
            self.sorted_margin = np.take_along_axis(self.margin.T, self.order, axis=1)
            self.out_packed = pack_bits(self.margin >= 0)  # (N, n_words(out))
        else:
            self.margin = np.ascontiguousarray(a, dtype=np.int32)  # output layer: a itself

    def columns(self, inputs: np.ndarray) -> np.ndarray:
        """Clean input values (N, len(inputs)) int64 of the chosen inputs."""
        if not self.packed:
            return self.x[inputs].T.astype(np.int64)
        words = self.x[:, inputs >> 6] >> (inputs & 63).astype(np.uint64)
        return (words & np.uint64(1)).astype(np.int64) * 2 - 1


class _ConvState:
    """A conv layer's clean input (as the conv kernels take it) and output bits
    (N, H', W', C')."""

    def __init__(self, layer: Conv, x: np.ndarray, out: np.ndarray) -> None:
        self.layer = layer
        self.x = x if layer.integer_input else pack_bits(x)
        self.out = out

    def bits(self, words: np.ndarray, x: np.ndarray, channels: np.ndarray | None = None
             ) -> np.ndarray:
        """Output bits with weights ``words`` on inputs ``x`` (as the conv kernels take
        them), for output ``channels`` only (None: all)."""
        layer = self.layer
        chosen = slice(None) if channels is None else channels
        return conv_bits(x, filter_operand(layer, words[chosen]), layer.in_shape[2],
                         layer.head.threshold[chosen], layer.head.direction[chosen],
                         pool=layer.pool, integer=layer.integer_input, padding=layer.padding)


class GeneralEvaluator:
    """Exact predictions of any ``net`` with other stored weights, on fixed ``images``,
    one draw at a time (the clean network is evaluated once, here).

    Args:
        net: the clean network.
        images: (N, H, W, C) uint8 images.
    """

    def __init__(self, net: PackedNet, images: np.ndarray) -> None:
        self.n_images = len(images)
        self.net = net
        self.states: list[_DenseState | _ConvState] = []
        x = net.first_input(images)
        _, hidden = forward(net, images, keep_hidden=True)
        for i, layer in enumerate(net.layers):
            if isinstance(layer, Conv):
                self.states.append(_ConvState(layer, x, hidden[i]))
            else:
                self.states.append(_DenseState(layer, x.reshape(len(x), -1)))
            if i < len(hidden):
                x = hidden[i]
        last = self.states[-1]
        assert isinstance(last, _DenseState) and isinstance(last.layer.head, Affine)
        self.clean_predictions = np.argmax(last.layer.head.apply(last.margin), axis=1)

    def predict_draws(self, draws: Sequence[Sequence[np.ndarray]]) -> np.ndarray:
        """Predicted labels (D, N) for D draws, each a sequence of stored weight arrays
        (one (out, n_words) uint64 array per layer)."""
        if not draws:
            return np.zeros((0, self.n_images), np.int64)
        return np.stack([self._incremental(words) for words in draws])

    def _incremental(self, words: Sequence[np.ndarray]) -> np.ndarray:
        changes: Changes = (EMPTY_INDEX, np.zeros((0, 0), np.uint64))
        for i, (state, faulty) in enumerate(zip(self.states[:-1], words[:-1], strict=True)):
            if isinstance(state, _ConvState):
                rows, maps = self._conv(state, faulty, changes)
                after = self.states[i + 1]
                # packed rows of the dense layer's width, also when no image changed
                changes = (rows, pack_bits(maps.reshape(len(maps), after.layer.in_features))
                           if isinstance(after, _DenseState) else maps)
            else:
                changes = self._dense(state, faulty, changes)
        last = self.states[-1]
        assert isinstance(last, _DenseState)
        return self._output(last, words[-1], changes)

    def _rows(self, state: _DenseState, faulty: np.ndarray, changes: Changes,
              flips: tuple[np.ndarray, np.ndarray, np.ndarray], *, bits: bool
              ) -> np.ndarray:
        """Outputs of the changed rows: packed bits (``bits``) or pre-activations."""
        rows, x_new = changes
        layer = state.layer
        toggled = int(np.bitwise_count(x_new ^ state.x[rows]).sum())
        if toggled > _SPARSE_LIMIT * x_new.size:  # dense changes: XNOR-popcount is cheaper
            a = binary_dense_preactivation(x_new, faulty, layer.in_features)
            if not bits:
                return a.astype(np.int64)
            assert isinstance(layer.head, Threshold)
            return pack_bits(layer.head.apply(a))
        outputs, inputs, signs = flips
        weights_t = state.weights_t
        weights_t[inputs, outputs] = -signs  # the faulty weights, restored below
        try:
            direction = layer.head.direction if isinstance(layer.head, Threshold) else None
            packed, scores = update_rows(
                rows, x_new, state.x, weights_t, state.margin,
                np.ones(layer.out_features, np.int64) if direction is None else direction,
                outputs, inputs, signs, threshold_bits=bits)
        finally:
            weights_t[inputs, outputs] = signs
        return packed if bits else scores

    def _dense(self, state: _DenseState, faulty: np.ndarray, changes: Changes) -> Changes:
        layer = state.layer
        assert isinstance(layer.head, Threshold)
        flips = flipped_weights(layer.weight_words, faulty)
        rows = changes[0]
        if flips[0].size > _FLIPS_PER_OUTPUT_LIMIT * layer.out_features:
            return self._dense_in_full(state, faulty, changes)
        skip = np.zeros(self.n_images, dtype=bool)
        skip[rows] = True
        images, outputs = changed_by_flips(
            state.sorted_margin, state.order, *flips, layer.head.direction, state.x,
            state.x_min, state.x_max, packed=state.packed, skip=skip)
        flip_rows = np.unique(images)
        all_rows = np.union1d(rows, flip_rows)
        new = state.out_packed[all_rows].copy()
        where = np.searchsorted(all_rows, images)
        np.bitwise_xor.at(new, (where, outputs >> 6),
                          np.left_shift(np.uint64(1), (outputs & 63).astype(np.uint64)))
        if rows.size:
            new[np.searchsorted(all_rows, rows)] = self._rows(state, faulty, changes, flips,
                                                              bits=True)
        keep = np.any(new != state.out_packed[all_rows], axis=1)
        return all_rows[keep], new[keep]

    def _dense_in_full(self, state: _DenseState, faulty: np.ndarray, changes: Changes
                       ) -> Changes:
        """Every image through the faulty layer (many flips: cheaper than searching)."""
        layer = state.layer
        assert isinstance(layer.head, Threshold)
        if state.packed:
            x = state.x.copy()
            x[changes[0]] = changes[1]
            a = binary_dense_preactivation(x, faulty, layer.in_features)
        else:  # the first layer: its inputs never change
            a = integer_dense_preactivation(state.x.T, faulty, layer.in_features)
        new = pack_bits(layer.head.apply(a))
        rows = np.nonzero(np.any(new != state.out_packed, axis=1))[0]
        return rows, new[rows]

    def _conv(self, state: _ConvState, faulty: np.ndarray, changes: Changes) -> Changes:
        rows = changes[0]
        channels = np.unique(np.nonzero(state.layer.weight_words != faulty)[0])
        flip_rows = EMPTY_INDEX
        partial = None
        if channels.size:  # clean inputs, flipped channels only, every image
            partial = state.bits(faulty, state.x, channels)
            differs = np.any(partial != state.out[..., channels], axis=(1, 2, 3))
            differs[rows] = False
            flip_rows = np.nonzero(differs)[0]
        all_rows = np.union1d(rows, flip_rows)
        new = state.out[all_rows].copy()
        if partial is not None:
            new[..., channels] = partial[all_rows]
        if rows.size:  # changed inputs: recompute those maps in full
            new[np.searchsorted(all_rows, rows)] = state.bits(faulty, pack_bits(changes[1]))
        keep = np.any(new != state.out[all_rows], axis=(1, 2, 3))
        return all_rows[keep], new[keep]

    def _output(self, state: _DenseState, faulty: np.ndarray, changes: Changes) -> np.ndarray:
        head = state.layer.head
        assert isinstance(head, Affine)
        predictions = self.clean_predictions.copy()
        outputs, inputs, signs = flips = flipped_weights(state.layer.weight_words, faulty)
        if outputs.size:  # the output layer's own flips move every image's scores
            a = state.margin.astype(np.int64)
            np.add.at(a.T, outputs, -2 * signs[:, None] * state.columns(inputs).T)
            predictions = np.argmax(head.apply(a), axis=1)
        if changes[0].size:
            scores = self._rows(state, faulty, changes, flips, bits=False)
            predictions[changes[0]] = np.argmax(head.apply(scores), axis=1)
        return predictions
