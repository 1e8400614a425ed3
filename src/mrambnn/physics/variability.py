"""Device-to-device variability: every cell of a chip with its own thermal stability
factor, critical currents and resistance, and its own write error rate.

A chip is one draw of these parameters (`draw_cells`), fixed over all its writes: the
same weak cells fail at every write. Each parameter is Gaussian around the device's
nominal value with a relative spread (`CellSpread`), independent of the others, truncated
to stay positive (at 5 % of the nominal value).

A cell's WER at a pulse comes from the Fokker-Planck tables with its own parameters: the
reduced current is ``I / ic0_cell`` and log(WER) is interpolated linearly in delta
between the tables at the multiples of 10 around the cell's delta (tables for 20..90 ship;
others are computed, about a minute each, and cached on first use). At delta 50, this
interpolation from the tables at 40 and 60 is within 15 % of the table at 50 (WER 1e-5 to
1). With no spread every cell gets exactly
`mrambnn.physics.switching.write_error_rate` of the nominal device. Reduced currents above
the tables' range are clipped to it, which overestimates those cells' (tiny) WER.
"""

from dataclasses import dataclass

import numpy as np

from mrambnn.physics.mtj import MTJ
from mrambnn.physics.switching import (
    MAX_REDUCED_CURRENT,
    ln_wer_in_current,
    reduced_wer,
    switching_table,
)

__all__ = ["SPREAD_PRESETS", "CellArray", "CellSpread", "cell_wer", "draw_cells"]


@dataclass(frozen=True, kw_only=True)
class CellSpread:
    """Relative standard deviations (sigma / nominal) of per-cell parameters.

    Attributes:
        delta: of the thermal stability factor.
        ic0: of each critical current (the two directions drawn independently).
        resistance: of the parallel-state resistance (the AP state follows through TMR).
        source: where the values come from.
    """

    delta: float = 0.0
    ic0: float = 0.0
    resistance: float = 0.0
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("delta", "ic0", "resistance"):
            value = getattr(self, name)
            if not 0 <= value < 1:
                raise ValueError(f"spread {name} must be in [0, 1), got {value}")

    @property
    def none(self) -> bool:
        return self.delta == 0 and self.ic0 == 0 and self.resistance == 0


SPREAD_PRESETS = {
    "none": CellSpread(source="no variability: every cell is the nominal device"),
    "pmtj-array": CellSpread(
        delta=0.10, ic0=0.05, resistance=0.05,
        source="delta: 9.6-14.3 % measured over a 16-kbit perpendicular-MTJ array (Area "
        "dependence of thermal stability factor in perpendicular STT-MRAM analyzed by "
        "bi-directional data flipping model, 2014), 10 % taken; ic0 and resistance 5 %: "
        "assumed, the sensing model's default"),
    "pmtj-array-low": CellSpread(
        delta=0.05, ic0=0.03, resistance=0.03,
        source="half the pmtj-array spreads: a tight, mature process (assumed)"),
}


@dataclass(frozen=True, kw_only=True, eq=False)
class CellArray:
    """Per-cell parameters of n cells: delta, ic0 of each direction (A), r_p (ohm)."""

    delta: np.ndarray
    ic0_p2ap: np.ndarray
    ic0_ap2p: np.ndarray
    r_p: np.ndarray

    def __len__(self) -> int:
        return int(self.delta.size)

    def ic0(self, direction: str) -> np.ndarray:
        if direction not in ("p2ap", "ap2p"):
            raise ValueError(f"unknown write direction {direction!r}")
        return self.ic0_p2ap if direction == "p2ap" else self.ic0_ap2p


def _gaussian(nominal: float, spread: float, n: int, rng: np.random.Generator) -> np.ndarray:
    if spread == 0:
        return np.full(n, float(nominal))
    values = nominal * (1 + spread * rng.standard_normal(n))
    return np.maximum(values, 0.05 * nominal)


def draw_cells(mtj: MTJ, spread: CellSpread, n_cells: int, *, rng: np.random.Generator
               ) -> CellArray:
    """One chip of ``n_cells`` cells around ``mtj`` (module docstring); with no spread the
    arrays hold the nominal values and ``rng`` is not used."""
    if n_cells < 0:
        raise ValueError("n_cells must be >= 0")
    return CellArray(delta=_gaussian(mtj.delta, spread.delta, n_cells, rng),
                     ic0_p2ap=_gaussian(mtj.ic0_p2ap, spread.ic0, n_cells, rng),
                     ic0_ap2p=_gaussian(mtj.ic0_ap2p, spread.ic0, n_cells, rng),
                     r_p=_gaussian(mtj.r_p, spread.resistance, n_cells, rng))


def _ln_wer_table(delta: float, i: np.ndarray, s: float) -> np.ndarray:
    """log(WER) of the table at ``delta`` at reduced currents ``i`` (n,) and width s."""
    table = switching_table(float(delta))
    column = table.rows_at(np.array([s]))  # (I, 1)
    return ln_wer_in_current(table.currents, column, np.clip(i, 0, MAX_REDUCED_CURRENT),
                             np.zeros(len(i), dtype=np.int64))


def cell_wer(mtj: MTJ, cells: CellArray, *, current: float, width: float,
             direction: str = "p2ap") -> np.ndarray:
    """Each cell's probability (n,) of not switching under a pulse of ``current`` (A) and
    ``width`` (s) in ``direction`` (module docstring)."""
    if not current > 0 or not width > 0:
        raise ValueError("write current and pulse width must be > 0")
    i = current / cells.ic0(direction)
    s = width / mtj.tau_d
    deltas = cells.delta
    if len(cells) == 0:
        return np.empty(0)
    if np.all(deltas == deltas[0]) and np.all(i == i[0]):  # every cell alike: one value,
        # computed exactly as `write_error_rate` computes it
        table = switching_table(float(deltas[0]))
        return np.full(deltas.size, float(reduced_wer(table, float(i[0]), s)))
    low = np.floor(deltas / 10) * 10
    ln = np.empty(deltas.size)
    for grid in np.unique(low):
        chosen = low == grid
        below = _ln_wer_table(grid, i[chosen], s)
        above = _ln_wer_table(grid + 10, i[chosen], s)
        weight = (deltas[chosen] - grid) / 10
        ln[chosen] = (1 - weight) * below + weight * above
    return np.exp(ln)
