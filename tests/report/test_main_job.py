"""The main job end to end on a tiny configuration: the report and its numbers equal
stored golden values (tests/report/golden_main_job.json), and every figure is written.

The golden values are exact accuracies (counts of 300 images) and physics-derived floats
(compared to 1e-9 relative): a change that moves any of them is a change of behaviour.
"""

import json
from pathlib import Path

import pytest

from mrambnn.experiments.main_job import MainJobConfig, run_main_job
from mrambnn.report import render_report

GOLDEN = Path(__file__).with_name("golden_main_job.json")
def _numbers(result) -> dict:  # type: ignore[no-untyped-def]
    """The figures the report states, as plain JSON values."""
    sweep = result.sweeps["mnist-mlp"]
    physics, budget = result.physics, result.budget
    return {
        "sweep": {str(p.ber): list(p.accuracies) for p in sweep.points},
        "energy": {str(p.current): list(p.accuracies) for p in physics.energy_sweep.points},
        "energy_per_bit": [p.energy_per_bit for p in physics.energy_sweep.points],
        "marked_energy": physics.marked_energy,
        "strong_pulse_energy": physics.strong_pulse.energy,
        "fit_error": physics.fit_error,
        "tolerable_ber": budget.tolerable_ber,
        "energy_ratio": budget.table.energy_ratio,
        "area_ratio": budget.table.area_ratio,
        "best_ecc": budget.table.best_ecc,
        "optimum_code": budget.optimum.cost.code,
    }


def _same(got, want, where=""):  # type: ignore[no-untyped-def]
    if isinstance(want, dict):
        assert set(got) == set(want), where
        for key in want:
            _same(got[key], want[key], f"{where}.{key}")
    elif isinstance(want, list):
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            _same(g, w, f"{where}[{i}]")
    elif isinstance(want, float):
        assert got == pytest.approx(want, rel=1e-9), where
    else:
        assert got == want, where


@pytest.mark.slow
def test_tiny_main_job_reproduces_its_golden_numbers(tmp_path: Path,
                                                     tiny_config: MainJobConfig) -> None:
    result = run_main_job(tmp_path, tiny_config)
    _same(json.loads(json.dumps(_numbers(result))), json.loads(GOLDEN.read_text()))
    report = render_report(result, tmp_path, wall_seconds=1.0).read_text()
    sweep = result.sweeps["mnist-mlp"]
    clean, at = (100 * sweep.point(b).summary().mean for b in (0.0, 1e-3))
    assert f"clean {clean:.2f} %, at BER 0.001 {at:.2f} %" in report
    assert f"**{result.budget.tolerable_ber:.2e}**" in report
    assert f"**{result.budget.table.energy_ratio:.2f}x**" in report
    for figure in ("accuracy_vs_ber", "wer_vs_width", "calibration", "energy_vs_target_wer",
                   "accuracy_vs_energy", "budget-mnist-mlp", "budget-trends-mnist-mlp",
                   "cell_wer_spread", "retention", "retention_spread", "codesign"):
        assert (tmp_path / f"{figure}.png").read_bytes()[:4] == b"\x89PNG", figure
        assert f"({figure}.png)" in report
    for data in ("sweep-mnist-mlp.json", "sweep-mnist-mlp.csv", "energy-mnist-mlp.json",
                 "budget-mnist-mlp.json"):
        assert (tmp_path / data).stat().st_size > 0
    if "bnn-pynq-cnv" in result.sweeps:  # CIFAR-10 and BNN-PYNQ's files are in ../shared
        external = result.sweeps["bnn-pynq-cnv"]
        assert external.config.n_images == 100 and external.config.n_draws == 2
        assert "- bnn-pynq-cnv (first 100 test images only), trained elsewhere:" in report
        assert ("The packed engine measures 79.22 % on the whole test set; its publisher "
                "claims 79.54 %") in report
    else:
        assert "bnn-pynq-cnv: NOT RUN" in report
    devices = result.devices
    for heading in ("## Device-to-device variability", "## Retention: accuracy vs time",
                    "## Co-design: delta, pulse and refresh", "### mnist-mlp (tolerable raw"):
        assert heading in report
    curves = devices.retention["mnist-mlp"]  # the sweep's own draws, moved in time
    assert [c.delta for c in curves] == [30.0, 40.0]
    assert curves[0].accuracies[-1] == sweep.point(1e-1).accuracies
    assert curves[0].times[0] < curves[1].times[0]
    assert devices.wer_spread.mean_spread.shape == (3,)
    assert len(devices.spread_lifetime) == 1 and len(devices.spread_lifetime[0].times) == 3
    uses = devices.codesign["mnist-mlp"]
    assert [u.use.name for u in uses] == ["sensor", "video", "wake-up"]
    assert all(len(u.check) == 2 for u in uses)
    assert uses[0].tolerable_ber == pytest.approx(result.budget.tolerable_ber, rel=1e-12)
    layers = result.layers
    for heading in ("## Which layers need strong writes: per-layer sensitivity",
                    "## Selective protection: one write condition per layer",
                    "## Error-aware training", "| per layer (optimal) |", "| best uniform |"):
        assert heading in report, heading
    for figure in ("sensitivity-mnist-mlp", "error_aware"):
        assert (tmp_path / f"{figure}.png").read_bytes()[:4] == b"\x89PNG", figure
    assert len(layers.sensitivity["mnist-mlp"].layers) == 4
    assert (tmp_path / "layers" / "mnist-mlp-alone-3.json").is_file()
    protection = layers.protection["mnist-mlp"]
    assert protection.per_layer_rounds and protection.uniform_rounds
    for check in (*protection.per_layer_rounds, *protection.uniform_rounds):
        assert check.passed == (check.check.high <= protection.tolerance)
    [pair] = layers.error_aware
    assert pair.aware == "mnist-mlp" and pair.aware_sweep.config.n_images == 200
    # a second run resumes the finished sweep points and says the same
    again = run_main_job(tmp_path, tiny_config)
    assert again.sweeps["mnist-mlp"].points == sweep.points
