"""Write error rate of an `MTJ` for any pulse, and its inverses.

The joined model is the exact macrospin: the Fokker-Planck solution of
`mrambnn.physics.fokker_planck`, tabulated once per delta over reduced currents
i = I/ic0 in [0, 10] and pulse widths s = t/tau_d in [0.1, 1e7], and interpolated on
log(WER) by monotone cubics (PCHIP) in i and in log s. It covers the thermally activated,
intermediate and precessional regimes with one continuous function; the closed forms of
`closed_forms` agree with it in their own regimes (tests). Beyond the last reliable
table point (WER < 1e-14) log(WER) is continued linearly in s with the slope of the last
two points: the long-time tail of the Fokker-Planck solution is a single exponential
(slope 2(i - 1) in the precessional regime). Tables are monotone by construction
(cumulative minimum along s and i removes solver noise) and cached on disk.
"""

import functools
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.interpolate import PchipInterpolator

from mrambnn.physics.closed_forms import kramers_tau
from mrambnn.physics.fokker_planck import FokkerPlanckGrid, fpe_wer
from mrambnn.physics.mtj import MTJ

__all__ = [
    "SwitchingTable",
    "current_for_wer", "currents_for_wers",
    "pulse_width_for_wer",
    "ln_wer_in_current", "reduced_ln_wer",
    "reduced_wer",
    "switching_table",
    "write_error_rate",
]

# dense enough above ic0 that the interpolated log(WER) stays within about 0.01 of the
# exact solution between grid points (tests/physics) and draws no visible kinks
_CURRENTS = np.array([0.0, 0.2, 0.4, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1,
                      1.2, 1.3, 1.4, 1.5, 1.6, 1.7, 1.85, 2.0, 2.15, 2.3, 2.45, 2.6, 2.8,
                      3.0, 3.25, 3.5, 3.75, 4.0, 4.25, 4.5, 4.75, 5.0, 5.5, 6.0, 6.5, 7.0,
                      7.5, 8.0, 9.0, 10.0])
_LOG_TIMES = np.linspace(np.log(0.1), np.log(1e7), 113)
_RELIABLE_LN_WER = np.log(1e-14)
_KRAMERS_BARRIER = 25.0
_TABLE_DIR = Path(__file__).resolve().parent / "tables"
MAX_REDUCED_CURRENT = float(_CURRENTS[-1])


@dataclass(frozen=True, kw_only=True, eq=False)
class SwitchingTable:
    """log(WER) of the macrospin on a (current, log time) grid for one delta.

    Attributes:
        delta: thermal stability factor.
        currents: (I,) reduced currents, increasing from 0.
        log_times: (T,) natural log of reduced pulse widths, increasing.
        ln_wer: (I, T) log write error rate, non-increasing along both axes.
    """

    delta: float
    currents: np.ndarray
    log_times: np.ndarray
    ln_wer: np.ndarray

    @functools.cached_property
    def _extrapolation(self) -> tuple[np.ndarray, ...]:
        """Per current: the last reliable column (ln WER >= ln 1e-14, at least 1), its log
        time, value and time, and the slope in time of the last reliable segment, beyond
        which ln WER is extended linearly in time (the exponential tail)."""
        reliable = self.ln_wer >= _RELIABLE_LN_WER
        columns = np.arange(self.ln_wer.shape[1])
        last = np.maximum(np.where(reliable, columns, 0).max(axis=1), 1)
        times = np.exp(self.log_times)
        rows = np.arange(len(self.currents))
        slope = ((self.ln_wer[rows, last - 1] - self.ln_wer[rows, last])
                 / (times[last] - times[last - 1]))
        return self.log_times[last], self.ln_wer[rows, last], times[last], slope

    @functools.cached_property
    def _in_time(self) -> PchipInterpolator:
        """Monotone cubic (PCHIP) interpolation of every current's log(WER) in log time,
        the unreliable points beyond each current's last reliable one replaced by the
        exponential tail (so that they do not bend the curve before it)."""
        last_log_time = self._extrapolation[0]
        tail = self._tail(np.exp(self.log_times))
        clean = np.where(self.log_times[None, :] <= last_log_time[:, None], self.ln_wer, tail)
        return PchipInterpolator(self.log_times, clean, axis=1)

    def _tail(self, s: np.ndarray) -> np.ndarray:
        """(I, len(s)) each current's exponential tail, log(WER) linear in s from its last
        reliable point."""
        _, last_value, last_time, slope = self._extrapolation
        return last_value[:, None] - slope[:, None] * (s[None, :] - last_time[:, None])

    def rows_at(self, s: np.ndarray) -> np.ndarray:
        """log(WER) of every tabulated current at reduced widths s: (I, len(s)): monotone
        cubic (PCHIP) in log time between grid points, the exponential tail beyond each
        current's last reliable point (vectorised over currents and widths)."""
        s = np.atleast_1d(np.asarray(s, dtype=np.float64))
        log_s = np.clip(np.log(np.clip(s, np.exp(self.log_times[0]), None)), None,
                        self.log_times[-1])
        inside = self._in_time(log_s)
        last_log_time = self._extrapolation[0]
        out = np.where(log_s[None, :] <= last_log_time[:, None], inside, self._tail(s))
        return np.minimum.accumulate(out, axis=0)


def build_switching_table(delta: float, grid: FokkerPlanckGrid | None = None) -> SwitchingTable:
    """Solve the Fokker-Planck equation at every tabulated current (about a minute)."""
    times = np.exp(_LOG_TIMES)
    rows = []
    for current in _CURRENTS:
        if current < 1 and delta * (1 - current) ** 2 > _KRAMERS_BARRIER:
            # Barrier so high that the Kramers escape time (accurate to ~1/barrier) is
            # far beyond the table; the solver would crawl for nothing.
            rows.append(-times / kramers_tau(delta, current))
            continue
        wer = fpe_wer(delta, float(current), times, grid=grid or FokkerPlanckGrid())
        rows.append(np.log(np.clip(wer, 1e-300, 1.0)))
    ln_wer = np.minimum.accumulate(np.minimum.accumulate(np.array(rows), axis=1), axis=0)
    return SwitchingTable(delta=delta, currents=_CURRENTS.copy(), log_times=_LOG_TIMES.copy(),
                          ln_wer=ln_wer)


def _cache_dirs() -> list[Path]:
    user = Path(os.environ.get("MRAMBNN_CACHE", Path.home() / ".cache" / "mrambnn"))
    return [_TABLE_DIR, user]


@functools.lru_cache(maxsize=32)
def switching_table(delta: float) -> SwitchingTable:
    """The table for ``delta``: shipped, cached on disk, or computed and cached."""
    name = f"fpe-delta{delta:.6g}.npz"
    for folder in _cache_dirs():
        file = folder / name
        if file.is_file():
            with open(file, "rb") as stream, np.load(stream, allow_pickle=False) as data:
                if np.array_equal(data["currents"], _CURRENTS) and np.array_equal(
                        data["log_times"], _LOG_TIMES):
                    return SwitchingTable(delta=delta, currents=data["currents"],
                                          log_times=data["log_times"], ln_wer=data["ln_wer"])
    table = build_switching_table(delta)
    target = _cache_dirs()[1]
    try:
        target.mkdir(parents=True, exist_ok=True)
        temporary = target / (name + ".tmp.npz")
        np.savez(temporary, currents=table.currents, log_times=table.log_times,
                 ln_wer=table.ln_wer)
        os.replace(temporary, target / name)
    except OSError:
        pass  # a read-only home only costs a recomputation next time
    return table


def reduced_ln_wer(
    table: SwitchingTable, i: float | np.ndarray, s: float | np.ndarray
) -> np.ndarray:
    """log(WER) at reduced currents ``i`` and widths ``s`` (broadcast together); finite
    even where the WER itself underflows to 0."""
    i, s = np.broadcast_arrays(np.asarray(i, dtype=np.float64), np.asarray(s, dtype=np.float64))
    if np.any(i < 0) or np.any(i > MAX_REDUCED_CURRENT):
        raise ValueError(f"reduced current must be in [0, {MAX_REDUCED_CURRENT:g}] x ic0")
    flat_i, flat_s = i.ravel(), s.ravel()
    rows = table.rows_at(flat_s)  # (I, n)
    ln = ln_wer_in_current(table.currents, rows, flat_i, np.arange(flat_i.size))
    return ln.reshape(i.shape)


def ln_wer_in_current(currents: np.ndarray, rows: np.ndarray, i: np.ndarray,
                      columns: np.ndarray) -> np.ndarray:
    """log(WER) at reduced currents ``i`` (n,) from the tabulated ``currents`` (I,):
    each ``i[m]`` is read from column ``columns[m]`` of ``rows`` (I, C) by a monotone
    cubic (PCHIP) in current."""
    x = currents
    k = np.clip(np.searchsorted(x, i, side="right") - 1, 0, len(x) - 2)
    h = x[k + 1] - x[k]
    t = (i - x[k]) / h
    start, end = rows[k, columns], rows[k + 1, columns]
    slope_start, slope_end = _pchip_slopes(x, rows, k, columns)
    # cubic Hermite with the monotone (Fritsch-Carlson) node slopes
    return ((2 * t**3 - 3 * t**2 + 1) * start + (t**3 - 2 * t**2 + t) * h * slope_start
            + (-2 * t**3 + 3 * t**2) * end + (t**3 - t**2) * h * slope_end)


def _pchip_slopes(x: np.ndarray, rows: np.ndarray, k: np.ndarray, columns: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray]:
    """PCHIP node slopes d/di of log(WER) at nodes k and k + 1 of each column's segment
    (rows (I, n), the column's segment index k (n,)): the weighted harmonic mean of the
    two neighbouring secants, zero where they differ in sign, the secant at the ends."""
    last = len(x) - 1

    def secant(j: np.ndarray) -> np.ndarray:  # of segment j (clipped to the table)
        j = np.clip(j, 0, last - 1)
        return (rows[j + 1, columns] - rows[j, columns]) / (x[j + 1] - x[j])

    def node(j: np.ndarray) -> np.ndarray:
        before, after = secant(j - 1), secant(j)
        h_before = x[np.clip(j, 1, last)] - x[np.clip(j - 1, 0, last - 1)]
        h_after = x[np.clip(j + 1, 1, last)] - x[np.clip(j, 0, last - 1)]
        w1, w2 = 2 * h_after + h_before, h_after + 2 * h_before
        same = before * after > 0
        with np.errstate(divide="ignore", invalid="ignore"):
            mean = (w1 + w2) / (w1 / before + w2 / after)
        slope = np.where(same, mean, 0.0)
        return np.where(j == 0, after, np.where(j == last, before, slope))

    return node(k), node(k + 1)


def reduced_wer(table: SwitchingTable, i: float | np.ndarray, s: float | np.ndarray) -> np.ndarray:
    """WER at reduced currents ``i`` and widths ``s`` (broadcast together)."""
    return np.exp(reduced_ln_wer(table, i, s))


def _check_pulse(current: np.ndarray, width: np.ndarray) -> None:
    if np.any(~np.isfinite(current)) or np.any(current <= 0):
        raise ValueError("write current must be > 0 A")
    if np.any(~np.isfinite(width)) or np.any(width <= 0):
        raise ValueError("pulse width must be > 0 s")


def write_error_rate(mtj: MTJ, *, current: float | np.ndarray, width: float | np.ndarray,
                     direction: str = "p2ap") -> np.ndarray:
    """Probability that a cell which must switch has not switched after the pulse.

    Args:
        current: write current through the junction, A (> 0).
        width: pulse width, s (> 0).
        direction: 'p2ap' or 'ap2p' (selects the critical current).
    Returns:
        WER, same shape as the broadcast of ``current`` and ``width``.
    """
    current, width = np.asarray(current, dtype=np.float64), np.asarray(width, dtype=np.float64)
    _check_pulse(current, width)
    i = current / mtj.ic0(direction)
    return reduced_wer(switching_table(mtj.delta), i, width / mtj.tau_d)


def _check_target(wer: float) -> float:
    wer = float(wer)
    if not 0 < wer < 1:
        raise ValueError(f"target WER must be in (0, 1), got {wer}")
    return wer


def pulse_width_for_wer(mtj: MTJ, wer: float, *, current: float, direction: str = "p2ap") -> float:
    """Shortest pulse width (s) at ``current`` (A) whose WER is at most ``wer``."""
    wer = _check_target(wer)
    _check_pulse(np.asarray(current), np.asarray(1.0))
    table = switching_table(mtj.delta)
    i = current / mtj.ic0(direction)
    if i > MAX_REDUCED_CURRENT:
        raise ValueError(f"current {current:g} A exceeds {MAX_REDUCED_CURRENT:g} x ic0")
    lo, hi = np.log(1e-3), np.log(1e12)
    if reduced_wer(table, i, np.exp(hi)) > wer:
        raise ValueError(f"WER {wer:g} is not reachable at {current:g} A in any pulse "
                         f"(i = {i:.3g}; raise the current)")
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if reduced_wer(table, i, np.exp(mid)) > wer else (lo, mid)
    return float(np.exp(hi) * mtj.tau_d)


def current_for_wer(mtj: MTJ, wer: float, *, width: float, direction: str = "p2ap") -> float:
    """Smallest current (A) whose WER after a ``width`` (s) pulse is at most ``wer``."""
    wer = _check_target(wer)
    current = currents_for_wers(mtj, np.array([wer]), width=width, direction=direction)[0]
    if not np.isfinite(current):
        raise ValueError(f"WER {wer:g} needs more than {MAX_REDUCED_CURRENT:g} x ic0 at "
                         f"{width:g} s; lengthen the pulse")
    return float(current)


def currents_for_wers(mtj: MTJ, wers: np.ndarray, *, width: float | np.ndarray,
                      direction: str = "p2ap") -> np.ndarray:
    """`current_for_wer` for every target of ``wers`` (n,) at once, each at its width
    (``width``: s, one for all or (n,)); the same bisection, element by element. Returns
    currents (n,) in A, inf where even ``MAX_REDUCED_CURRENT`` x ic0 does not reach the
    target."""
    wers = np.asarray(wers, dtype=np.float64)
    if wers.ndim != 1 or np.any(~(wers > 0)) or np.any(~(wers < 1)):
        raise ValueError("target WERs must be a 1-d array of values in (0, 1)")
    widths = np.broadcast_to(np.asarray(width, dtype=np.float64), wers.shape)
    _check_pulse(np.asarray(1.0), widths)
    table = switching_table(mtj.delta)
    s = widths / mtj.tau_d
    lo, hi = np.zeros_like(wers), np.full_like(wers, MAX_REDUCED_CURRENT)
    reachable = reduced_wer(table, hi, s) <= wers
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        above = reduced_wer(table, mid, s) > wers
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where(reachable, hi * mtj.ic0(direction), np.inf)
