"""`run_budget`: the budget table of a network, its trends and the optimizer, as one result.

The network's tolerable BER comes from its measured BER sweep (accuracy within
``tolerance`` of clean); everything else is the cost model (`mrambnn.memory.cost`) and the
device physics. The result is JSON-able and written atomically.
"""

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.engine import PackedNet
from mrambnn.experiments.budget_table import (
    budget_table,
    cheapest_condition,
    scaled_delta,
    tolerable_ber,
)
from mrambnn.experiments.results import provenance, write_atomic
from mrambnn.memory.cost import SOURCES, CostConfig
from mrambnn.physics.energy import WriteCircuit
from mrambnn.physics.mtj import MTJ

__all__ = ["BudgetConfig", "run_budget"]


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


def _table_dict(table: dict[str, Any]) -> dict[str, Any]:
    return {"rows": {k: v.as_dict() for k, v in table["rows"].items()},
            **{k: table[k] for k in ("best_ecc", "energy_ratio", "area_ratio", "target",
                                     "bnn_ber")}}


def _trend(values: Sequence[float], table_at: Any) -> list[dict[str, Any]]:
    rows = []
    for value in values:
        table = table_at(value)
        rows.append({"value": value, "energy_ratio": table["energy_ratio"],
                     "area_ratio": table["area_ratio"], "best_ecc": table["best_ecc"]})
    return rows


def run_budget(net: PackedNet, sweep_points: Sequence[dict[str, Any]], *, mtj: MTJ,
               circuit: WriteCircuit | None = None, cost: CostConfig | None = None,
               config: BudgetConfig | None = None, out: Path | None = None
               ) -> dict[str, Any]:
    """Budget of ``net`` from its BER sweep rows ('ber', 'mean'); see the module docstring.

    Returns a dict with the tolerable BER, the table at the configured workload, the
    ratio against workload and against delta, the iso-accuracy optimum, the cost
    parameters with their sources, and provenance.
    """
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
    result = {
        "kind": "budget", "model": net.metadata, "config": asdict(config),
        "clean_accuracy": min(sweep_points, key=lambda r: r["ber"])["mean"],
        "tolerable_ber": bnn_ber, "table": _table_dict(table), "workload": workload,
        "delta": deltas, "optimum": optimum["best"],
        "cost": asdict(cost), "cost_sources": SOURCES, "mtj": asdict(mtj),
        "circuit": asdict(circuit), "versions": provenance(),
    }
    if out is not None:
        write_atomic(Path(out), json.dumps(result, indent=1))
    return result
