"""Accuracy against write energy: program a network with weaker and weaker pulses.

For a fixed pulse width the write current is swept; the physics gives each direction's
WER, the `MRAM` turns it into write failures on the stored weights, and a Monte Carlo
over draws measures the accuracy. Draw streams are keyed by the current, as BER sweeps
are keyed by the error rate.
"""

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.engine import PackedNet
from mrambnn.experiments.accuracy_drop import log_crossing
from mrambnn.experiments.results import provenance, write_atomic
from mrambnn.experiments.stats import mean_interval
from mrambnn.experiments.draws import DrawPlan, evaluate_points
from mrambnn.memory.faults import FaultModel
from mrambnn.memory.mram import MRAM, WritePulseCondition

__all__ = ["EnergySweepConfig", "energy_at_accuracy_drop", "run_energy_sweep"]


@dataclass(frozen=True, kw_only=True)
class EnergySweepConfig:
    """Pulse width (s), write currents (A), draws per current, seed, test subset."""

    width: float = 10e-9
    currents: tuple[float, ...] = tuple(np.geomspace(40e-6, 220e-6, 13))
    n_draws: int = 10
    seed: int = 2019
    n_images: int | None = None

    def __post_init__(self) -> None:
        if self.n_draws < 1 or not self.currents:
            raise ValueError("need n_draws >= 1 and at least one current")
        for current in self.currents:
            WritePulseCondition(current=current, width=self.width)


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
) -> dict[str, Any]:
    """Accuracy (mean, CI) and write energy per bit at every current of ``config``.

    Returns (and writes to ``out``, JSON, atomically) a dict with the config, the MTJ,
    and one row per current: WERs of both directions, energy per bit, accuracies.
    """
    if config.n_images is not None:
        images, labels = images[: config.n_images], labels[: config.n_images]
    pulses = {c: WritePulseCondition(current=c, width=config.width) for c in config.currents}

    def fault_for(current: float) -> FaultModel:
        return mram.fault(pulses[current])

    plan = DrawPlan(fault_for=fault_for, seed=config.seed, layers=None)
    todo = [(c, config.n_draws) for c in config.currents]
    rows = []
    for current, draws in evaluate_points(net, images, labels, plan, todo, workers=workers,
                                          progress=progress):
        ap2p, p2ap = mram.write_error_rates(pulses[current])
        s = mean_interval(np.array(draws))
        rows.append({"current": current, "width": config.width, "wer_ap2p": ap2p,
                     "wer_p2ap": p2ap, "energy_per_bit": mram.energy_per_bit(pulses[current]),
                     "mean": s.mean, "ci_low": s.low, "ci_high": s.high,
                     "accuracies": list(draws)})
    result = {"kind": "energy_sweep", "config": asdict(config), "mtj": asdict(mram.mtj),
              "circuit": asdict(mram.circuit), "prior": mram.prior, "model": net.metadata,
              "versions": provenance(), "points": rows}
    if out is not None:
        write_atomic(Path(out), json.dumps(result, indent=1))
    return result


def energy_at_accuracy_drop(result: dict[str, Any], clean_accuracy: float,
                            drop: float = 0.005) -> float | None:
    """Lowest write energy per bit (J) whose mean accuracy is within ``drop`` of clean.

    Interpolates log(energy) linearly between the last failing and first passing point;
    None if no point passes.
    """
    rows = sorted(result["points"], key=lambda r: r["energy_per_bit"])
    target = clean_accuracy - drop
    crossing = log_crossing([r["energy_per_bit"] for r in rows], [r["mean"] for r in rows],
                            target, rising=True)
    if crossing is not None:
        return crossing
    return rows[0]["energy_per_bit"] if rows and rows[0]["mean"] >= target else None
