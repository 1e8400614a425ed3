"""Accuracy against write energy: program a network with weaker and weaker pulses.

For a fixed pulse width the write current is swept; the physics gives each direction's
WER, the `MRAM` turns it into write failures on the stored weights, and a Monte Carlo
over draws measures the accuracy. Draw streams are keyed by the current, as BER sweeps
are keyed by the error rate.
"""

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.engine import PackedNet
from mrambnn.experiments.accuracy_drop import log_crossing
from mrambnn.experiments.draws import DrawPlan, evaluate_points
from mrambnn.experiments.results import provenance, write_atomic
from mrambnn.experiments.stats import MeanInterval, json_number, mean_interval
from mrambnn.memory.cell_faults import Chip
from mrambnn.memory.faults import FaultModel
from mrambnn.memory.mram import MRAM, WritePulseCondition
from mrambnn.physics.energy import WriteCircuit
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.variability import SPREAD_PRESETS

__all__ = ["EnergyPoint", "EnergySweepConfig", "EnergySweepResult", "energy_at_accuracy_drop",
           "run_energy_sweep"]


@dataclass(frozen=True, kw_only=True)
class EnergySweepConfig:
    """Pulse width (s), write currents (A), draws per current, seed, test subset; and the
    device-to-device spread of the cells (a `SPREAD_PRESETS` name; 'none': every cell is
    the nominal device) with the seed of the one chip drawn for the whole sweep."""

    width: float = 10e-9
    currents: tuple[float, ...] = tuple(np.geomspace(40e-6, 220e-6, 13))
    n_draws: int = 10
    seed: int = 2019
    n_images: int | None = None
    spread: str = "none"
    chip_seed: int = 0

    def __post_init__(self) -> None:
        if self.n_draws < 1 or not self.currents:
            raise ValueError("need n_draws >= 1 and at least one current")
        if self.spread not in SPREAD_PRESETS:
            raise ValueError(f"unknown spread {self.spread!r}; choose one of "
                             f"{', '.join(SPREAD_PRESETS)}")
        for current in self.currents:
            WritePulseCondition(current=current, width=self.width)


@dataclass(frozen=True, kw_only=True)
class EnergyPoint:
    """One write current: its pulse, each direction's WER (with variability: the mean over
    the chip's cells, i.e. the array's BER of cells that must switch), the energy per
    stored bit (J, of the nominal device) and the accuracy of each draw."""

    current: float
    width: float
    wer_ap2p: float
    wer_p2ap: float
    energy_per_bit: float
    accuracies: tuple[float, ...]

    @property
    def summary(self) -> MeanInterval:
        return mean_interval(np.array(self.accuracies), bounds=(0, 1))


@dataclass(frozen=True, kw_only=True)
class EnergySweepResult:
    """Accuracy against write energy: the config, the device and circuit, the prior
    content of the array, the model's metadata, and one point per current."""

    config: EnergySweepConfig
    mtj: MTJ
    circuit: WriteCircuit
    prior: str
    model: dict[str, Any]
    points: tuple[EnergyPoint, ...]
    versions: dict[str, str] = field(default_factory=provenance)
    clean_accuracy: float | None = None

    def by_energy(self) -> tuple[EnergyPoint, ...]:
        """The points, cheapest write energy first."""
        return tuple(sorted(self.points, key=lambda p: p.energy_per_bit))

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for p in self.points:
            s = p.summary
            rows.append({"current": p.current, "width": p.width, "wer_ap2p": p.wer_ap2p,
                         "wer_p2ap": p.wer_p2ap, "energy_per_bit": p.energy_per_bit,
                         "mean": s.mean, "ci_low": json_number(s.low),
                         "ci_high": json_number(s.high),
                         "accuracies": list(p.accuracies)})
        return {"kind": "energy_sweep", "config": asdict(self.config), "mtj": asdict(self.mtj),
                "circuit": asdict(self.circuit), "prior": self.prior, "model": self.model,
                "versions": self.versions, "clean_accuracy": self.clean_accuracy,
                "points": rows}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "EnergySweepResult":
        """The result a `to_dict` wrote; anything else raises ValueError saying what."""
        if not isinstance(data, dict) or data.get("kind") != "energy_sweep":
            raise ValueError("not an energy sweep result file")
        try:
            raw = dict(data["config"])
            raw["currents"] = tuple(float(c) for c in raw["currents"])
            points = tuple(EnergyPoint(
                current=float(r["current"]), width=float(r["width"]),
                wer_ap2p=float(r["wer_ap2p"]), wer_p2ap=float(r["wer_p2ap"]),
                energy_per_bit=float(r["energy_per_bit"]),
                accuracies=tuple(float(a) for a in r["accuracies"])) for r in data["points"])
            clean = data.get("clean_accuracy")
            return cls(config=EnergySweepConfig(**raw), mtj=MTJ(**data["mtj"]),
                       circuit=WriteCircuit(**data["circuit"]), prior=str(data["prior"]),
                       model=dict(data["model"]), points=points,
                       versions=dict(data.get("versions", {})),
                       clean_accuracy=None if clean is None else float(clean))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a valid energy sweep result: {error!r}") from error


def run_energy_sweep(
    net: PackedNet,
    images: np.ndarray,
    labels: np.ndarray,
    mram: MRAM,
    config: EnergySweepConfig,
    *,
    out: Path | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    clean_accuracy: float | None = None,
) -> EnergySweepResult:
    """Accuracy (per draw) and write energy per bit at every current of ``config``;
    written to ``out`` (JSON, atomically) when given, with ``clean_accuracy`` (the
    error-free accuracy on the same images, for the figure and the drop) if known."""
    if config.n_images is not None:
        images, labels = images[: config.n_images], labels[: config.n_images]
    pulses = {c: WritePulseCondition(current=c, width=config.width) for c in config.currents}
    chip = None
    if config.spread != "none":  # one chip, fixed over every write of the sweep
        chip = Chip.for_shapes(mram.mtj, SPREAD_PRESETS[config.spread],
                               [(layer.out_features, layer.in_features)
                                for layer in net.layers],
                               rng=np.random.default_rng([config.chip_seed, 19]))
    faults: dict[float, Any] = {}

    def fault_for(current: float) -> FaultModel:
        if chip is None:
            return mram.fault(pulses[current])
        if current not in faults:
            faults[current] = chip.write_failure(current=current, width=config.width,
                                                 prior=mram.prior)
        return faults[current]  # type: ignore[no-any-return]

    def error_rates(current: float) -> tuple[float, float]:
        if chip is None:
            return mram.write_error_rates(pulses[current])
        fault = fault_for(current)
        weights = [w.size for w in fault.wer_ap2p]  # type: ignore[attr-defined]
        return tuple(float(np.average([w.mean() for w in rates], weights=weights))
                     for rates in (fault.wer_ap2p, fault.wer_p2ap))  # type: ignore

    plan = DrawPlan(fault_for=fault_for, seed=config.seed, layers=None)
    todo = [(c, config.n_draws) for c in config.currents]
    points = []
    for current, draws in evaluate_points(net, images, labels, plan, todo, workers=workers,
                                          progress=progress):
        ap2p, p2ap = error_rates(current)
        points.append(EnergyPoint(current=current, width=config.width, wer_ap2p=ap2p,
                                  wer_p2ap=p2ap,
                                  energy_per_bit=mram.energy_per_bit(pulses[current]),
                                  accuracies=tuple(draws)))
    result = EnergySweepResult(config=config, mtj=mram.mtj, circuit=mram.circuit,
                               prior=mram.prior, model=net.metadata, points=tuple(points),
                               clean_accuracy=clean_accuracy)
    if out is not None:
        write_atomic(Path(out), json.dumps(result.to_dict(), indent=1))
    return result


def energy_at_accuracy_drop(result: EnergySweepResult, clean_accuracy: float,
                            drop: float = 0.005) -> float | None:
    """Lowest write energy per bit (J) whose mean accuracy is within ``drop`` of clean.

    Interpolates log(energy) linearly between the last failing and first passing point;
    None if no point passes.
    """
    points = result.by_energy()
    means = [p.summary.mean for p in points]
    target = clean_accuracy - drop
    crossing = log_crossing([p.energy_per_bit for p in points], means, target, rising=True)
    if crossing is not None:
        return crossing
    return points[0].energy_per_bit if points and means[0] >= target else None
