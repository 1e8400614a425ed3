"""Incremental evaluation: predictions of a network whose stored weights differ a little.

`IncrementalEvaluator` runs the clean network once on a fixed image set and keeps what
each layer saw and computed. For a faulty copy of the weights it propagates only what
changes and returns exactly the predictions of a full re-evaluation. Between layers a
change is a sorted list of (image, input index) pairs whose +-1 value toggled.

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

from mrambnn.bits import pack_bits, unpack_bits, unpack_signs
from mrambnn.engine.conv import Conv
from mrambnn.engine.flip_kernels import changed_by_flips, update_rows
from mrambnn.engine.kernels import conv_bits
from mrambnn.engine.layers import Affine, Dense, Threshold
from mrambnn.engine.network import PackedNet, forward
from mrambnn.engine.ops import binary_dense_preactivation, integer_dense_preactivation

__all__ = ["IncrementalEvaluator"]

Changes = tuple[np.ndarray, np.ndarray]  # (images, indices), sorted by image then index
_NONE: Changes = (np.zeros(0, np.int64), np.zeros(0, np.int64))


def _flipped(clean: np.ndarray, faulty: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(output, input, clean sign) of every bit where two (out, n_words) arrays differ,
    sorted by output."""
    rows, cols = np.nonzero(clean != faulty)
    if rows.size == 0:
        return _NONE[0], _NONE[0], _NONE[0]
    bits = unpack_bits((clean[rows, cols] ^ faulty[rows, cols])[:, None], 64).astype(bool)
    word, bit = np.nonzero(bits)
    signs = (clean[rows[word], cols[word]] >> bit.astype(np.uint64)) & np.uint64(1)
    return rows[word], cols[word] * 64 + bit, signs.astype(np.int64) * 2 - 1


def _sorted_pairs(images: np.ndarray, indices: np.ndarray, width: int) -> Changes:
    key = np.unique(images.astype(np.int64) * width + indices)
    return key // width, key % width


class _DenseState:
    """A dense layer's clean inputs and margins (also sorted per neuron)."""

    def __init__(self, layer: Dense, x: np.ndarray) -> None:
        self.layer = layer
        self.packed = not layer.integer_input
        self.x = pack_bits(x) if self.packed else np.ascontiguousarray(x, dtype=np.int32)
        self.x_absmax = (np.ones(layer.in_features, np.int64) if self.packed
                         else np.abs(self.x).max(axis=0).astype(np.int64))
        if self.packed:
            a = binary_dense_preactivation(self.x, layer.weight_words, layer.in_features)
        else:
            a = integer_dense_preactivation(self.x, layer.weight_words, layer.in_features)
        self.weights_t = np.ascontiguousarray(
            unpack_signs(layer.weight_words, layer.in_features).T)  # (in, out) int8
        if isinstance(layer.head, Threshold):
            self.margin = np.ascontiguousarray(
                layer.head.direction * a - layer.head.threshold, dtype=np.int32)  # (N, out)
            self.order = np.argsort(self.margin.T, axis=1, kind="stable").astype(np.int32)
            self.sorted_margin = np.take_along_axis(self.margin.T, self.order, axis=1)
        else:
            self.margin = np.ascontiguousarray(a, dtype=np.int64)  # output layer: a itself

    def columns(self, inputs: np.ndarray) -> np.ndarray:
        """Clean input values (N, len(inputs)) int64 of the chosen inputs."""
        if not self.packed:
            return self.x[:, inputs].astype(np.int64)
        words = self.x[:, inputs >> 6] >> (inputs & 63).astype(np.uint64)
        return (words & np.uint64(1)).astype(np.int64) * 2 - 1


class _ConvState:
    """A conv layer's clean input (kernel layout) and output bits (N, H', W', C')."""

    def __init__(self, layer: Conv, x: np.ndarray, out: np.ndarray) -> None:
        self.layer = layer
        self.x = x if layer.integer_input else pack_bits(x)
        self.out = out

    def bits(self, words: np.ndarray, x: np.ndarray, channels: np.ndarray | None = None
             ) -> np.ndarray:
        """Output bits with weights ``words`` on kernel-layout inputs ``x``, for output
        ``channels`` only (None: all)."""
        layer = self.layer
        c, k = layer.in_shape[2], layer.kernel
        chosen = slice(None) if channels is None else channels
        kernel_bits = unpack_bits(words[chosen], layer.in_features).reshape(-1, k, k, c)
        w = (kernel_bits.astype(np.int64) * 2 - 1 if layer.integer_input
             else pack_bits(kernel_bits))
        return conv_bits(x, w, c, layer.head.threshold[chosen], layer.head.direction[chosen],
                         pool=layer.pool, integer=layer.integer_input)


class IncrementalEvaluator:
    """Exact predictions of ``net`` with other stored weights, on fixed ``images``.

    Args:
        net: the clean network.
        images: (N, H, W, C) uint8 images, evaluated once here.
    """

    def __init__(self, net: PackedNet, images: np.ndarray) -> None:
        x: np.ndarray = np.asarray(images).astype(np.int16) - np.int16(net.input_offset)
        _, hidden = forward(net, images, keep_hidden=True)
        self.states: list[_DenseState | _ConvState] = []
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
        self.n_images = len(images)

    def predict(self, words: Sequence[np.ndarray]) -> np.ndarray:
        """Predicted labels (N,) with stored weights ``words`` (one array per layer)."""
        if len(words) != len(self.states):
            raise ValueError(f"expected {len(self.states)} weight arrays, got {len(words)}")
        changes = _NONE
        for state, faulty in zip(self.states[:-1], words[:-1], strict=True):
            if isinstance(state, _ConvState):
                changes = self._conv(state, faulty, changes)
            else:
                changes = self._dense(state, faulty, changes)
        last = self.states[-1]
        assert isinstance(last, _DenseState)
        return self._output(last, words[-1], changes)

    def accuracy(self, words: Sequence[np.ndarray], labels: np.ndarray) -> float:
        return float(np.mean(self.predict(words) == np.asarray(labels)))

    def _row_update(self, state: _DenseState, faulty: np.ndarray, changes: Changes,
                    flips: tuple[np.ndarray, np.ndarray, np.ndarray], *, bits: bool
                    ) -> tuple[np.ndarray, np.ndarray]:
        rows, starts = np.unique(changes[0], return_index=True)
        starts = np.append(starts, changes[0].size)
        outputs, inputs, signs = flips
        weights_t = state.weights_t
        weights_t[inputs, outputs] = -signs  # faulty weights, restored below
        try:
            result = update_rows(rows, starts, changes[1], state.x, weights_t, state.margin,
                                 state.layer.head.direction if bits else np.ones(1, np.int64),
                                 outputs, inputs, signs, packed=state.packed,
                                 threshold_bits=bits)
        finally:
            weights_t[inputs, outputs] = signs
        return rows, result

    def _dense(self, state: _DenseState, faulty: np.ndarray, changes: Changes) -> Changes:
        layer = state.layer
        assert isinstance(layer.head, Threshold)
        flips = _flipped(layer.weight_words, faulty)
        skip = np.zeros(self.n_images, dtype=bool)
        skip[changes[0]] = True
        images, outputs = changed_by_flips(
            state.sorted_margin, state.order, *flips, layer.head.direction, state.x,
            state.x_absmax, packed=state.packed, skip=skip)
        if changes[0].size:
            rows, new_bits = self._row_update(state, faulty, changes, flips, bits=True)
            r, o = np.nonzero(new_bits != (state.margin[rows] >= 0))
            images, outputs = np.concatenate([images, rows[r]]), np.concatenate([outputs, o])
        return _sorted_pairs(images, outputs, layer.out_features)

    def _conv(self, state: _ConvState, faulty: np.ndarray, changes: Changes) -> Changes:
        layer = state.layer
        out_shape = state.out.shape[1:]
        found: list[tuple[np.ndarray, np.ndarray]] = []
        rows = np.unique(changes[0])
        channels = np.unique(np.nonzero(layer.weight_words != faulty)[0])
        if channels.size:  # clean inputs, flipped channels only, every image
            partial = state.bits(faulty, state.x, channels)
            n, y, x, c = np.nonzero(partial != state.out[..., channels])
            keep = ~np.isin(n, rows)
            flat = np.ravel_multi_index((y[keep], x[keep], channels[c[keep]]), out_shape)
            found.append((n[keep], flat))
        if rows.size:  # changed inputs: rebuild those maps and recompute them in full
            n_in = int(np.prod(layer.in_shape))
            maps = unpack_bits(state.x[rows], layer.in_shape[2]).reshape(len(rows), n_in)
            maps[np.searchsorted(rows, changes[0]), changes[1]] ^= 1
            full = state.bits(faulty, pack_bits(maps.reshape(len(rows), *layer.in_shape)))
            r, y, x, c = np.nonzero(full != state.out[rows])
            found.append((rows[r], np.ravel_multi_index((y, x, c), out_shape)))
        if not found:
            return _NONE
        images = np.concatenate([f[0] for f in found])
        indices = np.concatenate([f[1] for f in found])
        return _sorted_pairs(images, indices, int(np.prod(out_shape)))

    def _output(self, state: _DenseState, faulty: np.ndarray, changes: Changes) -> np.ndarray:
        head = state.layer.head
        assert isinstance(head, Affine)
        predictions = self.clean_predictions.copy()
        outputs, inputs, signs = flips = _flipped(state.layer.weight_words, faulty)
        if outputs.size:  # the output layer's own flips move every image's scores
            a = state.margin.copy()
            np.add.at(a.T, outputs, -2 * signs[:, None] * state.columns(inputs).T)
            predictions = np.argmax(head.apply(a), axis=1)
        if changes[0].size:
            rows, a_rows = self._row_update(state, faulty, changes, flips, bits=False)
            predictions[rows] = np.argmax(head.apply(a_rows), axis=1)
        return predictions
