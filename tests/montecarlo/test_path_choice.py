"""The incremental/full crossover measured on this machine: grid, interpolation, cache."""

import json

import numpy as np
import pytest

from mrambnn.bits import unpack_bits
from mrambnn.engine import predict
from mrambnn.experiments.deploy import corrupt_net
from mrambnn.memory import BitFlip
from mrambnn.montecarlo import DrawEvaluator
from mrambnn.montecarlo import path_choice as paths


def test_crossover_interpolates_in_log_log() -> None:
    # ratio 0.5 at 1e-4, 2 at 1e-3: log r is linear in log f, crossing 1 at 10^-3.5
    assert paths._crossover([(1e-5, 0.1), (1e-4, 0.5), (1e-3, 2.0)], 1e-1) == pytest.approx(
        10 ** -3.5)
    assert paths._crossover([(1e-5, 1.3)], 1e-1) == 1e-5  # full faster from the start
    assert paths._crossover([(1e-5, 0.2), (1e-1, 0.9)], 1e-1) == 1e-1  # never crossed


def test_timed_draws_flip_exactly_the_fraction_asked(make_toy, rng) -> None:
    net, _, _ = make_toy(hidden=70, n_images=4)
    for fraction in (0.0, 1e-3, 0.05, 1.0):
        words = paths._flipped_draw(net, fraction, rng)
        flipped = 0
        for layer, w in zip(net.layers, words, strict=True):
            clean = unpack_bits(layer.weight_words, layer.in_features)
            flipped += int((unpack_bits(w, layer.in_features) != clean).sum())
            # no padding bit set: the words repack to themselves
            assert (unpack_bits(w, layer.in_features).size == clean.size)
            assert np.bitwise_count(w).sum() == unpack_bits(w, layer.in_features).sum()
        assert flipped == round(fraction * net.n_weights)


def test_measured_crossover_on_a_small_network(make_toy) -> None:
    net, images, _ = make_toy(hidden=300, n_images=200)
    evaluator = DrawEvaluator(net, images, full_above=1.0)
    crossover, ratios = paths.measure_full_above(net, images, evaluator.incremental.predict_draws,
                                                 rng=np.random.default_rng(1))
    timed = [f for f, _ in ratios]
    assert timed == list(paths.FRACTIONS[:len(timed)]) and all(r > 0 for _, r in ratios)
    assert paths.FRACTIONS[0] <= crossover <= paths.FRACTIONS[-1]
    # the grid walk stops at the first fraction where the incremental path is slower
    assert all(r < 1 for _, r in ratios[:-1])


def test_cache_is_per_machine_and_network_and_survives_the_process(make_toy, tmp_path,
                                                                   monkeypatch) -> None:
    monkeypatch.setenv("MRAMBNN_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(paths, "_MEMORY", {})
    net, _, _ = make_toy(hidden=40, n_images=4)
    calls = []

    def measure() -> float:
        calls.append(1)
        return 2.5e-3

    assert paths.cached_full_above(net, "Layout", measure) == 2.5e-3
    assert paths.cached_full_above(net, "Layout", measure) == 2.5e-3
    assert len(calls) == 1
    stored = json.loads((tmp_path / "paths.json").read_text())
    assert list(stored.values()) == [2.5e-3] and paths.machine_key() in next(iter(stored))
    monkeypatch.setattr(paths, "_MEMORY", {})  # a new process reads the file
    assert paths.cached_full_above(net, "Layout", measure) == 2.5e-3 and len(calls) == 1
    assert paths.cached_full_above(net, "Other", measure) == 2.5e-3 and len(calls) == 2
    # an unreadable cache is measured again and rewritten whole
    (tmp_path / "paths.json").write_text("{not json")
    monkeypatch.setattr(paths, "_MEMORY", {})
    assert paths.cached_full_above(net, "Layout", measure) == 2.5e-3 and len(calls) == 3
    assert len(json.loads((tmp_path / "paths.json").read_text())) == 1
    # the variable overrides everything; a bad value is a one-line error
    monkeypatch.setenv("MRAMBNN_FULL_ABOVE", "0.02")
    assert paths.cached_full_above(net, "Layout", measure) == 0.02 and len(calls) == 3
    monkeypatch.setenv("MRAMBNN_FULL_ABOVE", "lots")
    with pytest.raises(ValueError, match="MRAMBNN_FULL_ABOVE must be a fraction"):
        paths.cached_full_above(net, "Layout", measure)


def test_auto_path_with_a_measured_crossover_is_exact(make_toy, rng) -> None:
    net, images, _ = make_toy(hidden=120, n_images=300)
    evaluator = DrawEvaluator(net, images)
    assert 0.0 < evaluator.full_above <= 1.0  # measured once, then kept
    assert evaluator.full_above == evaluator.full_above
    for ber in (1e-4, 1e-2, 0.2):
        faulty = corrupt_net(net, BitFlip(ber=ber), rng=rng)
        np.testing.assert_array_equal(evaluator.predict(faulty.weight_words),
                                      predict(faulty, images))
    with pytest.raises(ValueError, match="full_above"):
        DrawEvaluator(net, images, full_above=1.5)
