"""The budget study of a network: tolerable BER from its sweep, table, trends, optimum,
and the JSON file that records them."""

import json

import numpy as np
import pytest

from mrambnn.experiments.budget_study import BudgetConfig, run_budget
from mrambnn.experiments.budget_table import tolerable_ber
from mrambnn.memory.ecc_rates import residual_ber
from mrambnn.physics.presets import get_preset

POINTS = [{"ber": b, "mean": m} for b, m in
          [(0.0, 0.98), (1e-4, 0.98), (1e-3, 0.978), (1e-2, 0.96), (1e-1, 0.5)]]


@pytest.fixture(scope="module")
def toy(make_toy):
    return make_toy(128, 10)


def test_budget_of_a_network(toy, tmp_path) -> None:
    net = toy[0]
    config = BudgetConfig(workloads=(1.0, 1e2, 1e4, 1e6), deltas=(40.0, 60.0))
    result = run_budget(net, POINTS, mtj=get_preset("pmtj-40nm"), config=config,
                        out=tmp_path / "b.json")
    assert result.tolerable_ber == tolerable_ber(POINTS, 0.005)
    assert 1e-3 < result.tolerable_ber < 1e-2
    assert result.clean_accuracy == 0.98
    assert result.table.bnn_ber == result.tolerable_ber
    # the BNN row stores exactly the packed weights: 128 x 1 word + 4 x 2 words
    assert result.table.rows["none (weak, BNN)"].cost.stored_bits == (128 + 4 * 2) * 64
    # more inferences per write: the reads dominate and the ratio falls; area is fixed
    ratios = [p.energy_ratio for p in result.workload]
    assert [p.value for p in result.workload] == list(config.workloads)
    assert all(a >= b for a, b in zip(ratios, ratios[1:], strict=False))
    assert np.ptp([p.area_ratio for p in result.workload]) < 1e-12
    assert [p.value for p in result.delta] == [40.0, 60.0]
    best = result.optimum
    assert residual_ber(best.cost.code, best.pulse.raw_ber) <= result.tolerable_ber * (1 + 1e-6)
    saved = json.loads((tmp_path / "b.json").read_text())
    assert saved == json.loads(json.dumps(result.to_dict()))
    assert saved["kind"] == "budget" and saved["optimum"]["code"] == best.cost.code


def test_a_sweep_without_a_clean_point_is_refused(toy) -> None:
    with pytest.raises(ValueError, match="clean point"):
        run_budget(toy[0], POINTS[1:], mtj=get_preset("pmtj-40nm"))
