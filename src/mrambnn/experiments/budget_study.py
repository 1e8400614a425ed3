"""`run_budget`: the budget table of a network, its trends and the optimizer, as one result.

The network's tolerable BER comes from its measured BER sweep (accuracy within
``tolerance`` of clean); everything else is the cost model (`mrambnn.memory.cost`) and the
device physics. The result is a `BudgetResult`, written as JSON atomically.
"""

import json
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.engine import PackedNet
from mrambnn.experiments.budget_table import (
    BudgetRow,
    BudgetTable,
    budget_table,
    cheapest_condition,
    scaled_delta,
    tolerable_ber,
)
from mrambnn.experiments.results import provenance, write_atomic
from mrambnn.memory.cost import SOURCES, CostConfig
from mrambnn.physics.energy import WriteCircuit
from mrambnn.physics.mtj import MTJ

__all__ = ["PAPER_ENERGY_RATIO", "BudgetConfig", "BudgetResult", "TrendPoint", "run_budget"]

# Hirtzlin et al., NANOARCH 2019: dropping ECC and writing weakly saves "up to 2x" energy.
PAPER_ENERGY_RATIO = 2.0


@dataclass(frozen=True, kw_only=True)
class BudgetConfig:
    """What the budget compares.

    Attributes:
        tolerance: accepted mean-accuracy drop below clean (fraction: 0.005 = 0.5 point).
        target: reliability target of the ECC memories (uncorrectable word rate).
        workloads: reads per write swept for the ratio-vs-workload trend.
        deltas: thermal stabilities swept for the ratio-vs-delta trend (ic0 scaled).
    """

    tolerance: float = 0.005
    target: float = 1e-9
    workloads: tuple[float, ...] = tuple(float(x) for x in np.geomspace(1, 1e6, 13))
    deltas: tuple[float, ...] = (40.0, 50.0, 60.0, 70.0, 80.0)

    def __post_init__(self) -> None:
        if not 0 < self.tolerance < 1:
            raise ValueError(f"tolerance must be in (0, 1), got {self.tolerance}")
        if not 0 < self.target < 1:
            raise ValueError(f"target must be in (0, 1), got {self.target}")


@dataclass(frozen=True, kw_only=True)
class TrendPoint:
    """The ratios (cheapest ECC / BNN memory) at one value of a swept parameter."""

    value: float
    energy_ratio: float
    area_ratio: float
    best_ecc: str


@dataclass(frozen=True, kw_only=True)
class BudgetResult:
    """A network's system budget: its tolerable BER, the table at the configured cost,
    the ratios against workload and delta, and the iso-accuracy optimum."""

    model: dict[str, Any]
    config: BudgetConfig
    clean_accuracy: float
    tolerable_ber: float
    table: BudgetTable
    workload: tuple[TrendPoint, ...]
    delta: tuple[TrendPoint, ...]
    optimum: BudgetRow
    cost: CostConfig
    mtj: MTJ
    circuit: WriteCircuit
    versions: dict[str, str] = field(default_factory=provenance)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": "budget", "model": self.model, "config": asdict(self.config),
            "clean_accuracy": self.clean_accuracy, "tolerable_ber": self.tolerable_ber,
            "table": self.table.as_dict(), "workload": [asdict(p) for p in self.workload],
            "delta": [asdict(p) for p in self.delta], "optimum": self.optimum.as_dict(),
            "cost": asdict(self.cost), "cost_sources": SOURCES, "mtj": asdict(self.mtj),
            "circuit": asdict(self.circuit), "versions": self.versions,
        }


def _trend(values: Sequence[float], table_at: Callable[[float], BudgetTable]
           ) -> tuple[TrendPoint, ...]:
    points = []
    for value in values:
        table = table_at(value)
        points.append(TrendPoint(value=value, energy_ratio=table.energy_ratio,
                                 area_ratio=table.area_ratio, best_ecc=table.best_ecc))
    return tuple(points)


def run_budget(net: PackedNet, sweep_points: Sequence[dict[str, Any]], *, mtj: MTJ,
               circuit: WriteCircuit | None = None, cost: CostConfig | None = None,
               config: BudgetConfig | None = None, out: Path | None = None
               ) -> BudgetResult:
    """Budget of ``net`` from its BER sweep rows ('ber', 'mean'); see the module docstring.
    ``out``: JSON file written atomically."""
    circuit = circuit or WriteCircuit()
    cost = cost or CostConfig()
    config = config or BudgetConfig()
    bnn_ber = tolerable_ber(sweep_points, config.tolerance)
    data_bits = int(sum(w.size for w in net.weight_words)) * 64
    common = dict(n_synapses=net.n_weights, data_bits=data_bits, bnn_ber=bnn_ber,
                  target=config.target)
    table = budget_table(mtj=mtj, circuit=circuit, config=cost, **common)
    workload = _trend(config.workloads, lambda r: budget_table(
        mtj=mtj, circuit=circuit, config=replace(cost, reads_per_write=r), **common))
    deltas = _trend(config.deltas, lambda d: budget_table(
        mtj=scaled_delta(mtj, d), circuit=circuit, config=cost, **common))
    optimum = cheapest_condition(n_synapses=net.n_weights, data_bits=data_bits,
                                 tolerable=bnn_ber, mtj=mtj, circuit=circuit, config=cost)
    result = BudgetResult(
        model=net.metadata, config=config,
        clean_accuracy=min(sweep_points, key=lambda r: r["ber"])["mean"],
        tolerable_ber=bnn_ber, table=table, workload=workload, delta=deltas,
        optimum=optimum.best, cost=cost, mtj=mtj, circuit=circuit)
    if out is not None:
        write_atomic(Path(out), json.dumps(result.to_dict(), indent=1))
    return result
