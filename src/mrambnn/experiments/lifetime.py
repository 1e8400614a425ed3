"""Accuracy against time since writing: stored weights lose their state by thermal
activation (retention, each cell with its own delta) and by read disturb; the refresh
(rewrite) interval that keeps the accuracy drop within a tolerance, and its energy.

For each delta of the study one chip is drawn around the device with that delta (the
other parameters unchanged, `CellSpread` applied), written without error, then left for
each time of the grid; ``n_reads_per_second`` reads of ``read_current`` each add read
disturb. Draw ``d`` at time ``t`` uses its own stream (`mrambnn.experiments.draws`).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import numpy as np

from mrambnn.engine import PackedNet, accuracy
from mrambnn.experiments.accuracy_drop import log_crossing
from mrambnn.experiments.ber_sweep import SweepResult
from mrambnn.experiments.draws import DrawPlan, evaluate_points
from mrambnn.experiments.stats import MeanInterval, mean_interval
from mrambnn.memory.cell_faults import CellRetention, Chip
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.variability import SPREAD_PRESETS

__all__ = ["LifetimeConfig", "LifetimeCurve", "YEAR", "curves_from_sweep",
           "refresh_energy_per_hour", "retention_time", "run_lifetime"]

YEAR = 365.25 * 24 * 3600.0  # s


@dataclass(frozen=True, kw_only=True)
class LifetimeConfig:
    """Deltas of the study, times since writing (s), draws per time, seed, spread preset
    and chip seed, reads per second and their current (A) and duration (s), test subset."""

    deltas: tuple[float, ...] = (30.0, 35.0, 40.0, 45.0, 50.0, 60.0)
    times: tuple[float, ...] = tuple(float(t) for t in np.geomspace(1.0, 10 * YEAR, 17))
    n_draws: int = 5
    seed: int = 2019
    spread: str = "none"
    chip_seed: int = 0
    reads_per_second: float = 0.0
    read_current: float = 0.0
    read_duration: float = 5e-9
    n_images: int | None = None

    def __post_init__(self) -> None:
        if self.n_draws < 1 or not self.deltas or not self.times:
            raise ValueError("need n_draws >= 1, deltas and times")
        if min(self.deltas) <= 0 or min(self.times) <= 0 or self.reads_per_second < 0:
            raise ValueError("need deltas > 0, times > 0 s and reads_per_second >= 0")
        if list(self.times) != sorted(self.times):
            raise ValueError("times must increase")
        if self.spread not in SPREAD_PRESETS:
            raise ValueError(f"unknown spread {self.spread!r}; choose one of "
                             f"{', '.join(SPREAD_PRESETS)}")


@dataclass(frozen=True, kw_only=True)
class LifetimeCurve:
    """One delta: the accuracy of each draw at each time, and the clean accuracy."""

    delta: float
    times: tuple[float, ...]
    accuracies: tuple[tuple[float, ...], ...]
    clean: float

    def summary(self, index: int) -> MeanInterval:
        return mean_interval(np.array(self.accuracies[index]), bounds=(0, 1))

    def refresh_interval(self, drop: float = 0.005) -> float | None:
        """The longest time (s) whose mean accuracy stays within ``drop`` of clean
        (log-interpolated); None if even the first time fails; the last time if none
        fails (a lower bound)."""
        means = [self.summary(i).mean for i in range(len(self.times))]
        target = self.clean - drop
        if means[0] < target:
            return None
        failing = [i for i, m in enumerate(means) if m < target]
        if not failing:
            return self.times[-1]
        j = failing[0]
        crossing = log_crossing(list(self.times[j - 1:j + 1]), means[j - 1:j + 1], target,
                                rising=False)
        return crossing if crossing is not None else self.times[j - 1]


def run_lifetime(net: PackedNet, images: np.ndarray, labels: np.ndarray, mtj: MTJ,
                 config: LifetimeConfig, *, workers: int = 1,
                 progress: Callable[[int], None] | None = None) -> tuple[LifetimeCurve, ...]:
    """One `LifetimeCurve` per delta of ``config`` (module docstring)."""
    if config.n_images is not None:
        images, labels = images[: config.n_images], labels[: config.n_images]
    clean = accuracy(net, images, labels)
    shapes = [(layer.out_features, layer.in_features) for layer in net.layers]
    curves = []
    for delta in config.deltas:
        device = replace(mtj, delta=float(delta))
        chip = Chip.for_shapes(device, SPREAD_PRESETS[config.spread], shapes,
                               rng=np.random.default_rng([config.chip_seed, int(delta * 1000)]))

        def fault_for(time: float, chip: Chip = chip) -> CellRetention:
            return CellRetention(chip=chip, time=time,
                                 n_reads=int(round(config.reads_per_second * time)),
                                 read_current=config.read_current,
                                 read_duration=config.read_duration)

        plan = DrawPlan(fault_for=fault_for, seed=config.seed, layers=None)  # type: ignore
        found = dict(evaluate_points(net, images, labels, plan,
                                     [(t, config.n_draws) for t in config.times],
                                     workers=workers, progress=progress))
        curves.append(LifetimeCurve(delta=float(delta), times=tuple(config.times),
                                    accuracies=tuple(tuple(found[t]) for t in config.times),
                                    clean=clean))
    return tuple(curves)


def retention_time(mtj: MTJ, ber: float) -> float:
    """Time (s) after an error-free write at which retention alone has flipped a
    fraction ``ber`` of the cells (no spread): the inverse of ``(1 - exp(-2 k t)) / 2 =
    ber``, ``k = e^-delta / tau0``; infinite from ``ber = 1/2`` on."""
    if not 0 <= ber:
        raise ValueError(f"ber must be >= 0, got {ber}")
    if ber >= 0.5:
        return float("inf")
    return float(-np.log1p(-2 * ber) * mtj.tau0 * np.exp(mtj.delta) / 2)


def curves_from_sweep(sweep: SweepResult, mtj: MTJ, deltas: Sequence[float]
                      ) -> tuple[LifetimeCurve, ...]:
    """Accuracy vs time since writing for each delta, read off a uniform BER sweep of the
    whole network at no spread, without new draws.

    Without spread and without reads, retention flips every stored bit independently
    with the same probability ``(1 - exp(-2 k t)) / 2``: at the time where that equals a
    swept BER (`retention_time`), the weights are distributed exactly as in that BER's
    draws, so each measured point moves to its time, its draws unchanged. Needs a sweep
    of every layer without code; its clean point is the curve's clean accuracy.
    """
    if sweep.config.layers is not None or sweep.config.code != "none":
        raise ValueError("a retention curve needs a sweep of every layer without code")
    points = [p for p in sorted(sweep.points, key=lambda p: p.ber) if 0 < p.ber < 0.5]
    clean = sweep.point(0.0).summary().mean
    curves = []
    for delta in deltas:
        device = replace(mtj, delta=float(delta))
        curves.append(LifetimeCurve(
            delta=float(delta), times=tuple(retention_time(device, p.ber) for p in points),
            accuracies=tuple(tuple(p.accuracies) for p in points), clean=clean))
    return tuple(curves)


def refresh_energy_per_hour(interval: float, n_bits: int, energy_per_bit: float) -> float:
    """Energy (J) spent per hour rewriting ``n_bits`` every ``interval`` seconds."""
    if interval <= 0:
        raise ValueError("the refresh interval must be > 0 s")
    return n_bits * energy_per_bit * 3600.0 / interval
