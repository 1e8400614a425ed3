"""Fault channels of a chip whose cells differ (`mrambnn.physics.variability`): write
failures with each cell's own WER, then flips that accumulate after writing (retention,
read disturb), each cell with its own delta.

`Chip` holds one draw of per-cell parameters for every stored data bit of a network,
layer by layer, (rows, n_bits) each; the fault models here are *layer-aware*: they
corrupt layer ``index`` through ``corrupt_layer(index, words, n_bits, rng=)``, which
`mrambnn.experiments.deploy.corrupt_net` calls in place of ``corrupt``.

Sampling is exact for per-cell probabilities by thinning: candidates are drawn at the
largest probability p_max with the uniform sampler (`sample_positions`), then each is kept
with probability p_cell / p_max. Where every candidate has the same probability nothing is
thinned, so a chip without spread draws exactly what the uniform models draw
(`WriteFailure`, `AsymmetricFlip`) from the same stream.

State convention as in `mrambnn.memory.write_faults`: bit 1 = P, bit 0 = AP.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np

from mrambnn.bits import valid_bit_mask
from mrambnn.memory.faults import flip_bits
from mrambnn.memory.write_faults import WriteFailure, sample_positions, set_bit_positions
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.variability import CellArray, CellSpread, cell_wer, draw_cells

__all__ = ["CellRetention", "CellWriteFailure", "Chip", "ChainedFaults", "sample_cells"]


def sample_cells(mask_words: np.ndarray, n_bits: int, p: np.ndarray, *,
                 rng: np.random.Generator) -> np.ndarray:
    """Row-major data-bit positions chosen independently with probability ``p`` (rows,
    n_bits) among the bits set in ``mask_words`` (rows, n_words), sorted (thinning)."""
    p = np.asarray(p, dtype=np.float64).ravel()
    candidates = set_bit_positions(mask_words, n_bits)
    chosen = p[candidates]
    p_max = float(chosen.max()) if chosen.size else float(p.max(initial=0.0))
    positions = sample_positions(candidates, p_max, rng=rng)
    if positions.size == 0 or np.all(chosen == p_max):
        return positions
    keep = rng.random(positions.size) * p_max < p[positions]
    return positions[keep]


@dataclass(frozen=True, kw_only=True, eq=False)
class Chip:
    """Per-cell parameters of the cells storing each layer's data bits.

    Attributes:
        mtj: the nominal device.
        spread: the spreads the cells were drawn with.
        layers: one `CellArray` per layer, cells in row-major data-bit order.
        shapes: (rows, n_bits) of each layer.
    """

    mtj: MTJ
    spread: CellSpread
    layers: tuple[CellArray, ...]
    shapes: tuple[tuple[int, int], ...]

    @classmethod
    def for_shapes(cls, mtj: MTJ, spread: CellSpread, shapes: list[tuple[int, int]], *,
                   rng: np.random.Generator) -> "Chip":
        """A chip for layers of (rows, n_bits) data bits, drawn from ``rng``."""
        shapes = [(int(r), int(b)) for r, b in shapes]
        return cls(mtj=mtj, spread=spread, shapes=tuple(shapes),
                   layers=tuple(draw_cells(mtj, spread, r * b, rng=rng) for r, b in shapes))

    def cells(self, index: int, n_rows: int, n_bits: int) -> CellArray:
        if (n_rows, n_bits) != self.shapes[index]:
            raise ValueError(f"layer {index} holds {self.shapes[index]} bits on this chip, "
                             f"got ({n_rows}, {n_bits})")
        return self.layers[index]

    def write_failure(self, *, current: float, width: float,
                      prior: Literal["reset", "random", "previous"] = "random"
                      ) -> "CellWriteFailure":
        """The write channel of a pulse: each cell's WER in each direction."""
        def wer(direction: str) -> tuple[np.ndarray, ...]:
            return tuple(cell_wer(self.mtj, cells, current=current, width=width,
                                  direction=direction).reshape(shape)
                         for cells, shape in zip(self.layers, self.shapes, strict=True))
        return CellWriteFailure(wer_ap2p=wer("ap2p"), wer_p2ap=wer("p2ap"), prior=prior)


@dataclass(frozen=True, kw_only=True, eq=False)
class CellWriteFailure:
    """Write failures with per-cell WERs: (rows, n_bits) per layer and direction; a cell
    that must switch fails with its own WER. ``prior`` as in `WriteFailure`."""

    wer_ap2p: tuple[np.ndarray, ...]
    wer_p2ap: tuple[np.ndarray, ...]
    prior: Literal["reset", "random", "previous"] = "random"

    def corrupt_layer(self, index: int, words: np.ndarray, n_bits: int, *,
                      rng: np.random.Generator) -> np.ndarray:
        before = WriteFailure(wer_ap2p=0.0, wer_p2ap=0.0, prior=self.prior).prior_words(
            words, n_bits, rng=rng)
        up = sample_cells(words & ~before, n_bits, self.wer_ap2p[index], rng=rng)
        down = sample_cells(~words & before, n_bits, self.wer_p2ap[index], rng=rng)
        return flip_bits(words, n_bits, np.concatenate([up, down]))


@dataclass(frozen=True, kw_only=True, eq=False)
class CellRetention:
    """Flips after writing, per cell with its own delta: thermally activated reversal
    during ``time`` (s) without access (two-state relaxation, ``(1 - exp(-2 k t)) / 2``
    with ``k = e^-delta / tau0``), and
    ``n_reads`` reads of ``read_current`` (A) for ``read_duration`` (s) pushing towards
    ``read_direction`` ('p2ap': only P cells, bit 1, can be disturbed)."""

    chip: Chip
    time: float = 0.0
    n_reads: int = 0
    read_current: float = 0.0
    read_duration: float = 1e-9
    read_direction: str = "p2ap"

    def __post_init__(self) -> None:
        if self.time < 0 or self.n_reads < 0 or self.read_current < 0 \
                or self.read_duration <= 0:
            raise ValueError("need time >= 0 s, n_reads >= 0, read current >= 0 A and read "
                             "duration > 0 s")

    def probabilities(self, index: int, n_rows: int, n_bits: int
                      ) -> tuple[np.ndarray, np.ndarray]:
        """(p of a stored 1 flipping, p of a stored 0 flipping), (rows, n_bits) each."""
        cells = self.chip.cells(index, n_rows, n_bits)
        mtj = self.chip.mtj
        # a symmetric two-state cell relaxes towards equilibrium: it reads flipped with
        # probability (1 - exp(-2 k t)) / 2, k = e^-delta / tau0 (the first-flip
        # probability 1 - exp(-k t) of `physics.reliability` to first order, never > 1/2)
        retention = -np.expm1(-2 * (self.time / mtj.tau0) * np.exp(-cells.delta)) / 2
        disturb = np.zeros_like(retention)
        if self.n_reads and self.read_current > 0:
            i_r = self.read_current / cells.ic0(self.read_direction)
            if np.any(i_r >= 1):
                raise ValueError("the read current reaches a cell's ic0: it writes")
            rate = np.exp(-cells.delta * (1 - i_r) ** mtj.b) / mtj.tau0
            disturb = -np.expm1(-rate * self.read_duration * self.n_reads)
        either = 1 - (1 - retention) * (1 - disturb)
        from_one, from_zero = (either, retention) if self.read_direction == "p2ap" \
            else (retention, either)
        return from_one.reshape(n_rows, n_bits), from_zero.reshape(n_rows, n_bits)

    def corrupt_layer(self, index: int, words: np.ndarray, n_bits: int, *,
                      rng: np.random.Generator) -> np.ndarray:
        from_one, from_zero = self.probabilities(index, words.shape[0], n_bits)
        valid = valid_bit_mask(n_bits)
        ones = sample_cells(words & valid, n_bits, from_one, rng=rng)
        zeros = sample_cells(~words & valid, n_bits, from_zero, rng=rng)
        return flip_bits(words, n_bits, np.concatenate([ones, zeros]))


@dataclass(frozen=True, kw_only=True, eq=False)
class ChainedFaults:
    """Layer-aware channels applied in order (e.g. the write, then retention)."""

    stages: tuple[object, ...]

    def corrupt_layer(self, index: int, words: np.ndarray, n_bits: int, *,
                      rng: np.random.Generator) -> np.ndarray:
        for stage in self.stages:
            if hasattr(stage, "corrupt_layer"):
                words = stage.corrupt_layer(index, words, n_bits, rng=rng)
            else:
                words = stage.corrupt(words, n_bits, rng=rng)  # type: ignore[attr-defined]
        return words
