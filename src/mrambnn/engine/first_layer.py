"""The first layer's output shared by many sets of stored weights (fault draws).

An output channel of a conv layer, or a neuron of a dense one, depends only on its own
row of weights and its own threshold. So under a draw whose first-layer words differ from
the clean network's in a few rows, only those rows' outputs differ: `FirstLayerReuse`
computes the clean first layer once for a batch of images and, per draw, recomputes the
rows that differ, then runs the rest of the network as usual. Scores and predictions
are `forward`'s, bit for bit. The first layer multiplies integer pixels (no popcount): it
is 40-60 % of a full pass of the shipped conv networks (`benchmarks/full_pass.py`), while
at a BER of 1e-3 a draw changes about one of its 32-48 filters.

A conv first layer keeps its clean margins (``direction * a - threshold`` per pixel and
filter, int16, clipped to +-`MARGIN_LIMIT`): when a draw changes at most `MARGIN_ROWS`
filters, each gets its new margins by adding, per flipped weight, twice its new sign
times the input plane that weight sees (exact while the change stays below the clip),
then its bits and pooling (a filter with many flips is recomputed by the conv kernel);
a draw that changes more filters runs the whole first layer with its own weights, and so
does one where redoing its filters, at the last time measured per filter, would take
longer than the whole layer (as last timed on a draw that ran it): on the CIFAR-10 VGG,
whose first layer's integer kernel is fast, updating one filter's 32 x 32 maps of 1,000
images took longer.
"""

import time
from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from mrambnn.bits import pack_bits, unpack_bits
from mrambnn.engine.conv import Conv, filter_operand
from mrambnn.engine.kernels import conv_margins
from mrambnn.engine.layers import Threshold
from mrambnn.engine.network import (
    PackedNet,
    forward,
    forward_from,
    layer_output,
    layer_words,
    unpacked,
)

__all__ = ["MARGIN_LIMIT", "FirstLayerReuse", "predict_draws"]

MARGIN_LIMIT = 32000  # the clip of the kept margins (int16)
# Most changed filters (or neurons) redone one by one: a margin update costs a few passes
# over the filter's map, while the conv kernel's cost hardly depends on how many filters
# it computes (its loop overhead per pixel dominates), so with more changed filters the
# whole layer is computed with the draw's weights.
MARGIN_ROWS = 4


class FirstLayerReuse:
    """Scores of ``net`` on fixed ``images`` under other stored weights, the clean first
    layer's output reused.

    Args:
        net: the clean network.
        images: (N, H, W, C) uint8.
    """

    def __init__(self, net: PackedNet, images: np.ndarray) -> None:
        self.net = net
        self.images = images
        self.reusable = len(net.layers) > 1  # a one-layer network's first layer is its head
        self.inputs: np.ndarray = net.first_input(images)
        self.largest = int(np.abs(self.inputs).max(initial=0))
        layer = net.layers[0]
        self.by_margins = isinstance(layer, Conv) and layer.integer_input
        self._clean: np.ndarray | None = None  # the clean first layer's bits, when needed
        self._clean_words: np.ndarray | None = None  # the same, packed
        self._margins: np.ndarray | None = None  # (N, H', W', out) int16, when by_margins
        self._padded: np.ndarray | None = None  # the zero-padded inputs, int32, likewise
        # seconds of the whole first layer, and of redoing one changed row (each the last
        # timed): rows are redone only while that is the cheaper (results equal either way)
        self._full_seconds: float | None = None
        self._row_seconds: float | None = None

    @property
    def clean(self) -> np.ndarray:
        """The clean first layer's output bits (computed on first use)."""
        if self._clean is None:
            layer = self.net.layers[0]
            if isinstance(layer, Conv) and self.by_margins:
                head = layer.head
                flat = np.zeros((len(self.images), int(np.prod(layer.conv_shape))), np.int16)
                self._clean = conv_margins(
                    self.inputs, filter_operand(layer), layer.in_shape[2], head.threshold,
                    head.direction, integer=True, pool=layer.pool, margins=flat, offset=0,
                    limit=MARGIN_LIMIT, padding=layer.padding)
                self._margins = flat.reshape(len(self.images), *layer.conv_shape)
            else:
                self._clean = layer_output(layer, self.inputs)
        return self._clean

    def first_words(self, words: np.ndarray) -> np.ndarray:
        """`first_output`, packed as `mrambnn.engine.network.layer_words` gives it."""
        layer = self.net.layers[0]
        rows = np.flatnonzero(np.any(words != layer.weight_words, axis=1))
        if rows.size == 0:
            if self._clean_words is None:
                self._clean_words = pack_bits(self.clean)
            return self._clean_words
        # rows redone first (timed per row); then the whole layer once (timed, its result
        # used); after that whichever the two timings say is cheaper
        redo = rows.size <= MARGIN_ROWS and (
            self._row_seconds is None or (self._full_seconds is not None
                                          and rows.size * self._row_seconds < self._full_seconds))
        began = time.perf_counter()
        if redo:
            result = pack_bits(self._changed_rows(words, rows))
            self._row_seconds = (time.perf_counter() - began) / rows.size
        else:  # the kernel's cost hardly depends on the rows
            result = layer_words(replace(layer, weight_words=words), self.inputs)
            self._full_seconds = time.perf_counter() - began
        return result

    def first_output(self, words: np.ndarray) -> np.ndarray:
        """The first layer's output bits (bool, as `forward`'s first hidden output) with
        its stored weights ``words`` ((out, n_words) uint64)."""
        layer = self.net.layers[0]
        if np.array_equal(words, layer.weight_words):
            return self.clean
        return unpacked(layer, self.first_words(words))

    def _changed_rows(self, words: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """The clean bits with the filters ``rows`` (changed in ``words``) redone."""
        layer = self.net.layers[0]
        bits = self.clean.copy()
        if self.by_margins:
            rows = self._update_by_margins(bits, words, rows)
            if rows.size == 0:
                return bits
        head = layer.head
        assert isinstance(head, Threshold)
        redone = layer_output(replace(layer, weight_words=np.ascontiguousarray(words[rows]),
                                      head=Threshold(threshold=head.threshold[rows],
                                                     direction=head.direction[rows])),
                              self.inputs)
        bits[..., rows] = redone
        return bits

    def _update_by_margins(self, bits: np.ndarray, words: np.ndarray, rows: np.ndarray
                           ) -> np.ndarray:
        """Write into ``bits`` the new output of each filter of ``rows`` whose change
        stays within the margins' clip; return the other rows."""
        assert self._margins is not None
        layer = self.net.layers[0]
        assert isinstance(layer, Conv) and isinstance(layer.head, Threshold)
        k, c = layer.filter_size, layer.in_shape[2]
        h, w, _ = layer.conv_shape
        shift = k // 2 - int(layer.padding or 0)
        if self._padded is None:
            r = k // 2
            self._padded = np.pad(self.inputs, ((0, 0), (r, r), (r, r), (0, 0))
                                  ).astype(np.int32)
        padded = self._padded
        new_bits = unpack_bits(words[rows], layer.in_features)
        flipped = unpack_bits(words[rows] ^ layer.weight_words[rows], layer.in_features)
        left = []
        for i, row in enumerate(rows):
            where = np.flatnonzero(flipped[i])
            if 2 * where.size * self.largest >= MARGIN_LIMIT:
                left.append(row)
                continue
            margin = self._margins[..., row].astype(np.int32)
            direction = int(layer.head.direction[row])
            for q in where:  # patch order (ky, kx, channel)
                ky, kx, channel = q // (k * c), (q // c) % k, q % c
                plane = padded[:, shift + ky:shift + ky + h, shift + kx:shift + kx + w, channel]
                # the weight went from -s to s: the sum moves by 2 s x
                step = 2 * direction * (1 if new_bits[i, q] else -1)
                margin += step * plane
            fires = margin >= 0
            if layer.pool:  # OR of the window's bits, AND where the direction is negative
                join = np.logical_or if direction > 0 else np.logical_and
                fires = join(join(fires[:, 0::2, 0::2], fires[:, 0::2, 1::2]),
                             join(fires[:, 1::2, 0::2], fires[:, 1::2, 1::2]))
            bits[..., row] = fires
        return np.asarray(left, np.int64)

    def scores(self, words: Sequence[np.ndarray]) -> np.ndarray:
        """(N, n_classes) float64 scores with stored weights ``words`` (one (out,
        n_words) uint64 array per layer)."""
        faulty = self.net.with_weight_words(tuple(words))
        if not self.reusable:
            return forward(faulty, self.images)[0]
        return forward_from(faulty, self.first_words(words[0]), start=1, packed=True)[0]


def predict_draws(net: PackedNet, images: np.ndarray, draws: Sequence[Sequence[np.ndarray]],
                  *, batch_size: int = 1000) -> np.ndarray:
    """Predicted labels (D, N) int64 of ``images`` (N, H, W, C) uint8 under each of D
    draws of stored weights (`FirstLayerReuse`: the clean first layer computed once per
    batch of ``batch_size`` images)."""
    predictions = np.empty((len(draws), len(images)), np.int64)
    for begin in range(0, len(images), batch_size):
        reuse = FirstLayerReuse(net, images[begin:begin + batch_size])
        for d, words in enumerate(draws):
            predictions[d, begin:begin + batch_size] = np.argmax(reuse.scores(words), axis=1)
    return predictions
