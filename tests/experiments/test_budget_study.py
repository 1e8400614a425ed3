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


def test_budget_figures_name_model_and_device_and_keep_bars_and_legends_apart(toy, tmp_path,
                                                                               monkeypatch):
    import mrambnn.plots.budget as figures

    saved = []
    real_save = figures.save
    monkeypatch.setattr(figures, "save", lambda f, p: (saved.append(f), real_save(f, p))[1])
    result = run_budget(toy[0], POINTS, mtj=get_preset("pmtj-40nm"),
                        config=BudgetConfig(workloads=(1.0, 1e3), deltas=(40.0, 60.0)))
    figures.plot_budget_breakdown(result, tmp_path / "b.png", model="toy", device="lab-mtj")
    figures.plot_budget_trends(result, tmp_path / "t.png", model="toy", device="lab-mtj")
    breakdown, trends = saved
    for figure in (breakdown, trends):
        assert "toy" in figure.get_suptitle() and "lab-mtj" in figure.get_suptitle()
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    renderer = FigureCanvasAgg(breakdown).get_renderer()
    for axes in breakdown.axes:
        ends = [patch.get_x() + patch.get_width() for patch in axes.patches]
        assert max(ends) <= axes.get_xlim()[1]  # no bar runs off its axis
        legend = axes.get_legend().get_window_extent(renderer)
        plot = axes.get_window_extent(renderer)
        assert legend.y1 <= plot.y0  # legends sit below the bars, not on them
