"""A per-layer summary of a `PackedNet` (what `mrambnn info` prints): shapes, binary
weights, the 64-bit words and MRAM bits that store them (row padding included), the
thresholds' range, multiply-accumulates per inference, and the first layer's input coding.
"""

from dataclasses import dataclass

import numpy as np

from mrambnn.engine.conv import Conv
from mrambnn.engine.layers import Threshold
from mrambnn.engine.network import PackedNet

__all__ = ["LayerSummary", "NetSummary", "summarize"]


@dataclass(frozen=True)
class LayerSummary:
    """One layer: kind ("conv k x k, padding p[, pool]" or "dense"), input and output
    shapes, binary weights, stored words (64 bits each, rows padded to whole words), MRAM
    bits (= 64 x words), head ("threshold lo..hi (n negative)" or "affine"), MACs."""

    index: int
    kind: str
    in_shape: tuple[int, ...]
    out_shape: tuple[int, ...]
    weights: int
    words: int
    mram_bits: int
    head: str
    macs: int


@dataclass(frozen=True)
class NetSummary:
    """The layers, totals, and the input coding ("pixel - 128" or a table's range)."""

    layers: tuple[LayerSummary, ...]
    input_shape: tuple[int, int, int]
    input_coding: str
    n_classes: int

    @property
    def weights(self) -> int:
        return sum(layer.weights for layer in self.layers)

    @property
    def words(self) -> int:
        return sum(layer.words for layer in self.layers)

    @property
    def mram_bits(self) -> int:
        return sum(layer.mram_bits for layer in self.layers)

    @property
    def macs(self) -> int:
        return sum(layer.macs for layer in self.layers)

    def table(self) -> str:
        """The summary as an aligned text table with a totals line."""
        header = ("#", "layer", "input", "output", "weights", "words", "MRAM bits", "head",
                  "MACs")
        rows = [header] + [
            (str(s.index), s.kind, "x".join(map(str, s.in_shape)),
             "x".join(map(str, s.out_shape)), f"{s.weights:,}", f"{s.words:,}",
             f"{s.mram_bits:,}", s.head, f"{s.macs:,}") for s in self.layers]
        rows.append(("", "total", "", "", f"{self.weights:,}", f"{self.words:,}",
                     f"{self.mram_bits:,}", "", f"{self.macs:,}"))
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = ["  ".join(cell.ljust(w) if i in (1, 2, 3, 7) else cell.rjust(w)
                           for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
                 for row in rows]
        lines.insert(1, "-" * len(lines[0]))
        lines.insert(len(lines) - 1, "-" * len(lines[0]))
        return "\n".join(lines)


def _head(layer_head: object) -> str:
    if isinstance(layer_head, Threshold):
        t = layer_head.threshold
        negative = int(np.sum(layer_head.direction < 0))
        return f"threshold {int(t.min())}..{int(t.max())} ({negative} negative)"
    return "affine (class scores)"


def _coding(net: PackedNet) -> str:
    if net.input_levels is None:
        return f"pixel - {net.input_offset}" if net.input_offset else "pixel"
    levels = net.levels
    distinct = len(np.unique(levels))
    return (f"table of {distinct} levels in {int(levels.min())}..{int(levels.max())}"
            + (" (binary)" if distinct == 2 else ""))


def summarize(net: PackedNet) -> NetSummary:
    """The `NetSummary` of ``net``."""
    rows = []
    shape: tuple[int, ...] = tuple(net.input_shape)
    for index, layer in enumerate(net.layers):
        words = int(layer.weight_words.size)
        if isinstance(layer, Conv):
            k = layer.filter_size
            kind = f"conv {k}x{k}, padding {layer.padding}" + (", pool 2x2" if layer.pool
                                                               else "")
            h, w, o = layer.conv_shape
            macs = h * w * o * layer.in_features
            out_shape: tuple[int, ...] = layer.out_shape
        else:
            kind = "dense"
            macs = layer.in_features * layer.out_features
            out_shape = (layer.out_features,)
        rows.append(LayerSummary(index=index, kind=kind, in_shape=shape, out_shape=out_shape,
                                 weights=layer.n_weights, words=words, mram_bits=64 * words,
                                 head=_head(layer.head), macs=macs))
        shape = out_shape
    return NetSummary(layers=tuple(rows), input_shape=net.input_shape,
                      input_coding=_coding(net), n_classes=net.n_classes)
