"""The main job's device study: what variability and time do to the weak-pulse memory,
and the delta and pulse a use should pick.

- Retention without spread, for every swept network and each delta: the BER sweep's
  measured points moved to the time at which retention reaches their BER
  (`curves_from_sweep`, no new draws).
- With the cited spread on one network: the per-cell WER distribution at the weak pulse,
  the mean WER vs current, the write energy at the tolerated drop (Monte Carlo on one
  chip), and accuracy vs time since writing (Monte Carlo: each cell with its own delta).
- Co-design (`mrambnn.experiments.codesign`) of the delta, pulse and refresh interval for
  each use, on the networks named, each optimum checked by Monte Carlo.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from mrambnn.datasets import load_test_set
from mrambnn.engine import PackedNet, accuracy
from mrambnn.experiments.ber_sweep import SweepResult
from mrambnn.experiments.budget_table import tolerable_ber
from mrambnn.experiments.codesign import USES, CodesignConfig, CodesignResult, run_codesign
from mrambnn.experiments.energy_sweep import (
    EnergySweepConfig,
    EnergySweepResult,
    energy_at_accuracy_drop,
    run_energy_sweep,
)
from mrambnn.experiments.lifetime import (
    YEAR,
    LifetimeConfig,
    LifetimeCurve,
    curves_from_sweep,
    run_lifetime,
)
from mrambnn.memory.mram import MRAM
from mrambnn.models import dataset_of, load_model
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.switching import write_error_rate
from mrambnn.physics.variability import SPREAD_PRESETS, cell_wer, draw_cells

__all__ = ["CellWerSpread", "DeviceStudyConfig", "DeviceStudyResult", "cell_wer_spread",
           "run_device_study"]

Progress = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True, kw_only=True)
class DeviceStudyConfig:
    """Settings of the device study.

    Attributes:
        retention_deltas: deltas of the retention curves read off the sweeps.
        spread: the variability preset (`SPREAD_PRESETS`); ``chip_seed`` draws its chip.
        spread_model: the network of the variability studies.
        spread_draws: draws per current of the energy sweep with spread;
            ``spread_currents`` its currents (A; None: those of the no-spread sweep).
        spread_lifetime: the Monte Carlo lifetime study with spread (its ``spread`` and
            ``chip_seed`` are replaced by this config's).
        wer_cells: cells drawn for the per-cell WER distribution.
        codesign_models: networks of the co-design; ``codesign_subsets`` (model, n): check
            on the first n test images; ``codesign_draws``: draws of each check.
        n_images: evaluate every Monte Carlo part on the first n test images only (None:
            all, or the co-design subsets).
    """

    retention_deltas: tuple[float, ...] = (30.0, 35.0, 40.0, 45.0, 50.0, 60.0)
    spread: str = "pmtj-array"
    chip_seed: int = 1
    spread_model: str = "mnist-mlp"
    spread_draws: int = 4
    spread_currents: tuple[float, ...] | None = tuple(
        float(c) for c in (88e-6, 92e-6, 96e-6, 100e-6, 108e-6, 125e-6))
    spread_lifetime: LifetimeConfig = LifetimeConfig(
        deltas=(40.0,), times=(1e4, 1e5, 1e6, 1e7, 10 * YEAR), n_draws=3)
    wer_cells: int = 200_000
    codesign_models: tuple[str, ...] = ("mnist-mlp", "cifar-vgg")
    codesign_subsets: tuple[tuple[str, int], ...] = (("cifar-vgg", 500),)
    codesign_draws: int = 4
    codesign: CodesignConfig = field(default_factory=CodesignConfig)
    n_images: int | None = None

    def __post_init__(self) -> None:
        if self.spread not in SPREAD_PRESETS or self.spread == "none":
            raise ValueError(f"the device study needs a spread preset other than 'none', "
                             f"got {self.spread!r}")
        if self.wer_cells < 1 or self.spread_draws < 1 or self.codesign_draws < 1:
            raise ValueError("need wer_cells, spread_draws and codesign_draws >= 1")
        if self.n_images is not None and self.n_images < 1:
            raise ValueError(f"n_images must be >= 1, got {self.n_images}")

    def images_for(self, model: str) -> int | None:
        """How many test images the Monte Carlo parts of ``model`` use (None: all)."""
        subset = dict(self.codesign_subsets).get(model)
        counts = [n for n in (subset, self.n_images) if n is not None]
        return min(counts) if counts else None


@dataclass(frozen=True, kw_only=True)
class CellWerSpread:
    """Per-cell P->AP WER at one pulse, and the mean WER against current, with and
    without spread.

    Attributes:
        current, width: the pulse of the distribution, A and s.
        nominal: the nominal cell's WER at that pulse.
        cell_wers: (n,) WER of each drawn cell, sorted.
        currents: (m,) currents of the mean-WER curves, A; ``mean_none``, ``mean_spread``
            (m,) the array's mean WER of each direction averaged (P->AP, AP->P).
    """

    current: float
    width: float
    nominal: float
    cell_wers: np.ndarray
    currents: np.ndarray
    mean_none: np.ndarray
    mean_spread: np.ndarray

    def quantile(self, q: float) -> float:
        return float(np.quantile(self.cell_wers, q))


def cell_wer_spread(mtj: MTJ, spread: str, *, current: float, width: float,
                    currents: np.ndarray, n_cells: int, rng: np.random.Generator
                    ) -> CellWerSpread:
    """`CellWerSpread` of ``n_cells`` cells drawn around ``mtj`` with ``spread``."""
    cells = draw_cells(mtj, SPREAD_PRESETS[spread], n_cells, rng=rng)
    wers = np.sort(cell_wer(mtj, cells, current=current, width=width, direction="p2ap"))
    directions = ("p2ap", "ap2p")
    mean_none = np.array([np.mean([float(write_error_rate(mtj, current=c, width=width,
                                                          direction=d)) for d in directions])
                          for c in currents])
    mean_spread = np.array([np.mean([cell_wer(mtj, cells, current=c, width=width,
                                              direction=d).mean() for d in directions])
                            for c in currents])
    return CellWerSpread(current=current, width=width,
                         nominal=float(write_error_rate(mtj, current=current, width=width,
                                                        direction="p2ap")),
                         cell_wers=wers, currents=np.asarray(currents, dtype=np.float64),
                         mean_none=mean_none, mean_spread=mean_spread)


@dataclass(frozen=True, kw_only=True)
class DeviceStudyResult:
    """What the report's device sections show.

    Attributes:
        retention: model -> one curve per delta, from its BER sweep (no spread).
        spread_energy: the energy sweep of ``spread_model`` on one chip with spread;
            ``spread_clean`` its clean accuracy, ``spread_marked_energy`` the energy per
            bit at the tolerated drop (None: not reached).
        wer_spread: the per-cell WER distribution at the no-spread weak pulse.
        spread_lifetime: Monte Carlo lifetime curves of ``spread_model`` with spread.
        codesign: model -> one result per use.
    """

    config: DeviceStudyConfig
    retention: dict[str, tuple[LifetimeCurve, ...]]
    spread_energy: EnergySweepResult
    spread_clean: float
    spread_marked_energy: float | None
    wer_spread: CellWerSpread
    spread_lifetime: tuple[LifetimeCurve, ...]
    codesign: dict[str, tuple[CodesignResult, ...]]


def run_device_study(config: DeviceStudyConfig, *, sweeps: dict[str, SweepResult],
                     mtj: MTJ, mram: MRAM, energy_sweep: EnergySweepConfig,
                     marked_current: float | None, drop: float,
                     data_dir: Path | None = None,
                     load: Callable[[str], PackedNet] = load_model, workers: int = 1,
                     progress: Progress | None = None) -> DeviceStudyResult:
    """Run the device study (module docstring).

    Args:
        sweeps: the main job's BER sweeps (model -> sweep of every layer).
        mtj, mram: the device and the array of the physics section.
        energy_sweep: the no-spread energy sweep's settings; the spread one repeats its
            currents and width on one chip.
        marked_current: the no-spread current at the tolerated drop (A), where the per-cell
            WER distribution is taken (None: the sweep's middle current).
        drop: the tolerated accuracy drop (fraction).
        load: loads a model by the name its sweep goes by.
    """
    retention = {name: curves_from_sweep(sweep, mtj, config.retention_deltas)
                 for name, sweep in sweeps.items()
                 if sweep.config.layers is None and sweep.config.code == "none"}
    net = load(config.spread_model)
    data = load_test_set(dataset_of(net, where=config.spread_model), data_dir)
    x, y = data.x_test[:config.n_images], data.y_test[:config.n_images]
    clean = accuracy(net, x, y)
    spread_sweep = replace(energy_sweep, n_draws=config.spread_draws, spread=config.spread,
                           chip_seed=config.chip_seed,
                           currents=config.spread_currents or energy_sweep.currents)
    tick = (progress(f"{config.spread_model} energy sweep, spread {config.spread}",
                     len(spread_sweep.currents) * spread_sweep.n_draws) if progress else None)
    spread_energy = run_energy_sweep(net, x, y, mram, spread_sweep,
                                     workers=workers, progress=tick)
    currents = np.asarray(energy_sweep.currents)
    current = marked_current if marked_current is not None else float(np.median(currents))
    wer_spread = cell_wer_spread(mtj, config.spread, current=current,
                                 width=energy_sweep.width, currents=currents,
                                 n_cells=config.wer_cells,
                                 rng=np.random.default_rng([config.chip_seed, 23]))
    lifetime = replace(config.spread_lifetime, spread=config.spread,
                       chip_seed=config.chip_seed)
    tick = (progress(f"{config.spread_model} lifetime, spread {config.spread}",
                     len(lifetime.deltas) * len(lifetime.times) * lifetime.n_draws)
            if progress else None)
    spread_lifetime = run_lifetime(net, x, y, mtj, lifetime,
                                   workers=workers, progress=tick)
    codesign = {}
    for name in config.codesign_models:
        if name not in sweeps:
            continue
        model = load(name)
        model_data = load_test_set(dataset_of(model, where=name), data_dir)
        n_images = config.images_for(name)
        tolerable = tolerable_ber(sweeps[name].to_dict()["points"], drop)
        codesign[name] = run_codesign(model, model_data.x_test[:n_images],
                                      model_data.y_test[:n_images], base=mtj,
                                      tolerable=tolerable, uses=USES, config=config.codesign,
                                      n_draws=config.codesign_draws, workers=workers)
    return DeviceStudyResult(
        config=config, retention=retention, spread_energy=spread_energy, spread_clean=clean,
        spread_marked_energy=energy_at_accuracy_drop(spread_energy, clean, drop=drop),
        wer_spread=wer_spread, spread_lifetime=spread_lifetime, codesign=codesign)
