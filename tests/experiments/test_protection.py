"""Per-layer sensitivity and the selective-protection optimizer."""

import itertools

import numpy as np
import pytest

from mrambnn.experiments.ber_sweep import SweepConfig
from mrambnn.experiments.protection import (
    WriteOption,
    _drop_curve,
    assignment_faults,
    optimal_assignment,
    predicted_drops,
    protect,
    write_options,
)
from mrambnn.experiments.sensitivity import run_sensitivity
from mrambnn.models import load_model
from mrambnn.physics.presets import get_preset


def _brute_force(drops, energy, budget, area=None):
    best, best_value = None, np.inf
    n_layers, n_options = drops.shape
    for choice in itertools.product(range(n_options), repeat=n_layers):
        rows = np.arange(n_layers)
        if drops[rows, choice].sum() > budget + 1e-12:
            continue
        value = energy[rows, choice].sum()
        if area is not None:
            value *= area[rows, choice].sum()
        if value < best_value - 1e-12:
            best, best_value = choice, value
    return best, best_value


def test_optimizer_finds_the_known_optimum() -> None:
    # three layers; strong writes cost 10 per layer, weak ones 1, 2, 3 with drops that
    # make exactly one weak layer affordable: the cheapest is to weaken the layer whose
    # saving per drop is largest (layer 2: saving 9 at drop 0.3)
    drops = np.array([[0.0, 0.6], [0.0, 0.5], [0.0, 0.3]])
    energy = np.array([[10.0, 1.0], [10.0, 2.0], [10.0, 1.0]])
    assert optimal_assignment(drops, energy, 0.4) == (0, 0, 1)
    assert optimal_assignment(drops, energy, 0.85) == (0, 1, 1)  # 0.8 fits, 0.9 does not
    assert optimal_assignment(drops, energy, 2.0) == (1, 1, 1)
    assert optimal_assignment(drops + 0.1, energy, 0.2) is None


@pytest.mark.parametrize("seed", range(12))
def test_optimizer_equals_brute_force_on_random_problems(seed) -> None:
    rng = np.random.default_rng(seed)
    n_layers, n_options = rng.integers(2, 5), rng.integers(2, 6)
    drops = rng.uniform(0, 1, (n_layers, n_options)) * (rng.uniform(size=(n_layers, n_options))
                                                        > 0.2)
    energy = rng.uniform(0.1, 5, (n_layers, n_options))
    area = rng.uniform(0.1, 5, (n_layers, n_options))
    budget = rng.uniform(0.2, 1.5)
    for a in (None, area):
        expected, value = _brute_force(drops, energy, budget, a)
        found = optimal_assignment(drops, energy, budget, area=a)
        if expected is None:
            assert found is None
            continue
        rows = np.arange(n_layers)
        got = energy[rows, found].sum() * (1 if a is None else a[rows, found].sum())
        assert drops[rows, found].sum() <= budget + 1e-12
        assert got == pytest.approx(value, rel=1e-12)


def test_drop_curve_is_monotone_and_zero_at_zero() -> None:
    bers, drops = [0.0, 1e-3, 1e-2, 1e-1], [0.0, -0.002, 0.01, 0.2]
    assert _drop_curve(bers, drops, 0.0) == 0.0
    assert _drop_curve(bers, drops, 1e-3) == 0.0  # noise below clean counts as no drop
    assert _drop_curve(bers, drops, 1e-2) == pytest.approx(0.01)
    assert _drop_curve(bers, drops, np.sqrt(1e-3 * 1e-2)) == pytest.approx(0.005)
    assert _drop_curve(bers, drops, 1.0) == pytest.approx(0.2)
    assert _drop_curve([0.0, 1e-3], [0.0, 0.004], 5e-4) == pytest.approx(0.002)
    # a noisy bump is averaged with its neighbour (isotonic fit), not carried up
    noisy = [0.0, 0.004, 0.002, 0.01]
    assert _drop_curve(bers, noisy, 1e-3) == pytest.approx(0.003)
    assert _drop_curve(bers, noisy, 1e-2) == pytest.approx(0.003)
    assert _drop_curve(bers, noisy, 1e-1) == pytest.approx(0.01)


def test_strong_options_leave_almost_no_residual_errors() -> None:
    options = write_options((1e-3,))
    assert options[0] == WriteOption(label="none @ 1e-03", code="none", raw_ber=1e-3,
                                     residual_ber=1e-3)
    strong = [o for o in options if "strong" in o.label]
    assert {o.code for o in strong} >= {"none", "secded-72-64"}
    for option in strong:
        assert option.residual_ber < 1e-9
        assert option.raw_ber >= option.residual_ber


def test_sensitivity_and_protection_of_the_mnist_network(mnist, tmp_path) -> None:
    net = load_model("mnist-mlp")
    images, labels = mnist.x_test[:400], mnist.y_test[:400]
    config = SweepConfig(bers=(0.0, 1e-3, 1e-2, 1e-1), n_draws=3)
    result = run_sensitivity(net, images, labels, config, out_dir=tmp_path, name="mnist")
    assert len(result.layers) == 4
    assert sum(s.share for s in result.layers) == pytest.approx(1.0)
    assert (tmp_path / "mnist-alone-2.json").is_file()
    again = run_sensitivity(net, images, labels, config, out_dir=tmp_path, name="mnist")
    assert np.array_equal(again.drop_alone(), result.drop_alone())  # read back, resumed
    for layer in result.layers:
        assert layer.alone.config.layers == (layer.index,)
        assert layer.all_but is not None and layer.index not in layer.all_but.config.layers
    table = result.table(0.01)
    assert [row["layer"] for row in table] == [0, 1, 2, 3]

    options = write_options((1e-4, 1e-3, 1e-2, 1e-1), codes=("secded-72-64",))
    alone, uniform = predicted_drops(result, options)
    assert alone.shape == (4, len(options)) and uniform.shape == (len(options),)
    found = protect(net, images, labels, result, mtj=get_preset("pmtj-40nm"),
                    options=options, tolerance=0.01, n_draws=3)
    assert found.per_layer is not None and found.uniform is not None
    for chosen in (found.per_layer, found.uniform):
        assert chosen.passed and chosen.check.high <= 0.01
        assert len(chosen.options) == 4
    assert len(set(found.uniform.options)) == 1
    weaker = [r for r in found.uniform_rounds if not r.passed]  # bisection found the edge
    assert all(options[r.options[0]].residual_ber > options[found.uniform.options[0]].residual_ber
               for r in weaker)
    energy_ratio, area_ratio, write_ratio = found.ratios()
    assert energy_ratio > 0 and area_ratio > 0 and write_ratio > 0
    faults = assignment_faults(options, found.per_layer.options)
    assert len(faults.faults) == 4
    assert found.to_dict()["energy_ratio"] == energy_ratio


def test_layerwise_faults_touch_only_their_layers() -> None:
    from mrambnn.experiments.deploy import corrupt_net
    from mrambnn.memory import BitFlip
    from mrambnn.memory.faults import LayerwiseFaults

    net = load_model("mnist-mlp")
    faults = LayerwiseFaults(faults=(None, BitFlip(ber=0.05), None, BitFlip(ber=0.5)))
    corrupted = corrupt_net(net, faults, rng=np.random.default_rng(1))
    changed = [int(np.bitwise_count(a ^ b).sum())
               for a, b in zip(net.weight_words, corrupted.weight_words, strict=True)]
    assert changed[0] == 0 and changed[2] == 0
    assert changed[1] == pytest.approx(0.05 * net.layers[1].n_weights, rel=0.05)
    assert changed[3] == pytest.approx(0.5 * net.layers[3].n_weights, rel=0.05)
    with pytest.raises(ValueError, match="layers 0..1"):
        corrupt_net(net, LayerwiseFaults(faults=(None, None)), rng=np.random.default_rng(1))
