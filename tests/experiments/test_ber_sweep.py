"""BER sweep: determinism, independence of order and workers, resume, provenance."""

import json
from dataclasses import replace

import pytest

from mrambnn.experiments import SweepConfig, SweepResult, run_ber_sweep


@pytest.fixture(scope="module")
def toy(make_toy):
    return make_toy(64, 300)


CONFIG = SweepConfig(bers=(0.0, 1e-3, 3e-2, 0.2), n_draws=5, seed=11)


def test_clean_point_is_exact_and_noise_hurts(toy) -> None:
    net, images, labels = toy
    result = run_ber_sweep(net, images, labels, CONFIG)
    assert result.point(0.0).accuracies == (1.0,)
    assert result.point(0.2).summary().mean < 0.9
    s = result.point(3e-2).summary()
    assert s.low <= s.mean <= s.high and len(result.point(3e-2).accuracies) == 5


def test_same_seed_same_result_any_order_any_workers(toy) -> None:
    net, images, labels = toy
    a = run_ber_sweep(net, images, labels, CONFIG)
    reordered = replace(CONFIG, bers=tuple(reversed(CONFIG.bers)))
    b = run_ber_sweep(net, images, labels, reordered, workers=2)
    for p in a.points:
        assert b.point(p.ber).accuracies == p.accuracies
    c = run_ber_sweep(net, images, labels, replace(CONFIG, seed=12))
    assert c.point(0.2).accuracies != a.point(0.2).accuracies


def test_interrupted_sweep_resumes_without_redoing_points(toy, tmp_path, monkeypatch) -> None:
    net, images, labels = toy
    out = tmp_path / "sweep.json"
    full = run_ber_sweep(net, images, labels, CONFIG)
    from mrambnn.experiments.draws import _Run

    # an all-dense net evaluates a point's draws together (`_Run.accuracies`)
    calls = {"n": 0}
    original = _Run.accuracies

    def failing(run, ber, draws):
        calls["n"] += len(draws)
        if ber == 3e-2:
            raise KeyboardInterrupt
        return original(run, ber, draws)

    monkeypatch.setattr(_Run, "accuracies", failing)
    with pytest.raises(KeyboardInterrupt):
        run_ber_sweep(net, images, labels, CONFIG, out=out)
    saved = json.loads(out.read_text())
    assert [p["ber"] for p in saved["points"]] == [0.0, 1e-3]

    def counting(run, ber, draws):
        calls["n"] += len(draws)
        return original(run, ber, draws)

    monkeypatch.setattr(_Run, "accuracies", counting)
    calls["n"] = 0
    resumed = run_ber_sweep(net, images, labels, CONFIG, out=out)
    assert calls["n"] == 2 * CONFIG.n_draws  # only the two unfinished points ran
    for p in full.points:
        assert resumed.point(p.ber).accuracies == p.accuracies


def test_result_file_has_provenance_and_csv(toy, tmp_path) -> None:
    net, images, labels = toy
    out = tmp_path / "s.json"
    run_ber_sweep(net, images, labels, CONFIG, out=out)
    data = json.loads(out.read_text())
    assert data["config"]["seed"] == 11 and "mrambnn" in data["versions"]
    assert data["model"] == {"dataset": "toy"}
    assert SweepResult.from_dict(data).config == CONFIG
    assert out.with_suffix(".csv").read_text().startswith("ber,mean_accuracy")
    with pytest.raises(ValueError, match="another configuration"):
        run_ber_sweep(net, images, labels, replace(CONFIG, seed=1), out=out)


@pytest.mark.parametrize("kwargs", [{"bers": (1.5,)}, {"bers": (-1e-3,)}, {"n_draws": 0},
                                    {"bers": ()}, {"confidence": 1.0}])
def test_bad_config_is_rejected(kwargs) -> None:
    with pytest.raises(ValueError):
        SweepConfig(**kwargs)


def test_bad_layer_index_is_rejected(toy) -> None:
    net, images, labels = toy
    with pytest.raises(ValueError, match="out of range"):
        run_ber_sweep(net, images, labels, replace(CONFIG, layers=(5,)))


def test_incremental_and_full_engines_give_identical_sweeps(toy):
    net, images, labels = toy
    config = SweepConfig(bers=(0.0, 1e-3, 3e-2), n_draws=3)
    fast = run_ber_sweep(net, images, labels, config, workers=2)
    full = run_ber_sweep(net, images, labels, config, engine="full")
    assert fast.to_dict()["points"] == full.to_dict()["points"]
    with pytest.raises(ValueError, match="incremental, full"):
        run_ber_sweep(net, images, labels, config, engine="gpu")
