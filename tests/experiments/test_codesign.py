"""Co-design of delta, pulse and refresh: the post-write error budget follows the closed
forms, the Monte Carlo channel of a design flips what the budget says, and the optimum
moves with the use."""

import math
from dataclasses import replace

import numpy as np
import pytest

from mrambnn.bits import unpack_bits
from mrambnn.experiments.budget_table import pulse_for_ber, pulses_for_bers, scaled_delta
from mrambnn.experiments.codesign import (
    YEAR,
    CodesignConfig,
    Design,
    Use,
    best_design,
    check_fault,
    ones_fraction,
    post_write_ber,
    refresh_interval,
    run_codesign,
)
from mrambnn.physics.energy import WriteCircuit
from mrambnn.physics.presets import get_preset
from mrambnn.physics.reliability import read_disturb_probability, retention_bit_error
from mrambnn.physics.switching import current_for_wer, currents_for_wers

BASE = get_preset("pmtj-40nm")
CONFIG = CodesignConfig(deltas=(30.0, 40.0, 60.0), widths=(5e-9, 20e-9, 100e-9),
                        write_shares=(0.1, 0.5, 0.9))


def test_post_write_ber_is_retention_plus_read_disturb_of_the_ones() -> None:
    mtj = scaled_delta(BASE, 30.0)
    for time in (1e-3, 10.0, 1e4):
        retention = retention_bit_error(mtj, time=time)
        assert post_write_ber(mtj, time, rate=0.0, ones=0.5, config=CONFIG) == pytest.approx(
            retention, rel=1e-12)
        disturb = read_disturb_probability(mtj, current=0.2 * mtj.ic0_p2ap, duration=5e-9,
                                           n_reads=int(1000 * time))
        expected = 0.3 * (1 - (1 - retention) * (1 - disturb)) + 0.7 * retention
        assert post_write_ber(mtj, time, rate=1000.0, ones=0.3, config=CONFIG) == \
            pytest.approx(expected, rel=1e-6)


def test_refresh_interval_is_where_the_budget_is_spent() -> None:
    for delta in (30.0, 40.0):
        mtj = scaled_delta(BASE, delta)
        interval = refresh_interval(mtj, 1e-3, rate=100.0, ones=0.5, config=CONFIG)
        assert 0 < interval < math.inf
        assert post_write_ber(mtj, interval, rate=100.0, ones=0.5, config=CONFIG) == \
            pytest.approx(1e-3, rel=1e-6)
    assert refresh_interval(scaled_delta(BASE, 90.0), 1e-3, rate=0.0, ones=0.5,
                            config=CONFIG) == math.inf


def test_vectorised_pulses_equal_the_scalar_search() -> None:
    mtj = scaled_delta(BASE, 40.0)
    wers = np.array([1e-6, 1e-4, 3e-3, 0.2])
    widths = np.array([5e-9, 10e-9, 10e-9, 50e-9])
    found = currents_for_wers(mtj, wers, width=widths, direction="p2ap")
    for current, wer, width in zip(found, wers, widths, strict=True):
        assert current == current_for_wer(mtj, wer, width=width, direction="p2ap")
    assert np.isinf(currents_for_wers(mtj, np.array([1e-9]), width=1e-10))
    bers, pulse_widths = [1e-5, 1e-3, 1e-5], [1e-9, 10e-9, 100e-9]  # 1 ns: lengthened
    together = pulses_for_bers(mtj, WriteCircuit(), bers, widths=pulse_widths,
                               switching_fraction=0.5)
    for pulse, ber, width in zip(together, bers, pulse_widths, strict=True):
        assert pulse == pulse_for_ber(mtj, WriteCircuit(), ber, width=width,
                                      switching_fraction=0.5)
    assert together[0].widths[1] > 1e-9  # the supply could not, so the pulse grew


def _design(**changes: float) -> Design:
    values = dict(delta=40.0, ic0_p2ap=40e-6, widths=(1e-8, 1e-8), currents=(3e-5, 4e-5),
                  write_ber=1e-3, energy_per_bit=1e-12, cell_area_f2=30.0, refresh=1e4,
                  writes=1.0, write=1e-9, read=1e-6, compute=1e-8)
    values.update(changes)
    return Design(**values)  # type: ignore[arg-type]


def test_the_smallest_cell_wins_among_near_equal_energies() -> None:
    cheap, small, smaller_but_costly = (_design(), _design(cell_area_f2=20.0, write=5e-9),
                                        _design(cell_area_f2=10.0, write=1e-7))
    assert best_design([cheap, small, smaller_but_costly], 0.01) is small
    assert best_design([cheap, small, smaller_but_costly], 0.0) is cheap
    with pytest.raises(ValueError, match="no feasible"):
        best_design([])


def test_design_channel_flips_what_the_budget_says(make_toy) -> None:
    """The Monte Carlo channel of a design (write, then retention and reads until the
    refresh) flips each bit with the write's raw BER plus the post-write BER."""
    net, _, _ = make_toy(512, 10)
    use = Use(name="t", rate=50.0, deployment=YEAR)
    mtj = scaled_delta(BASE, 30.0)
    design = _design(delta=30.0, write_ber=4e-3, refresh=100.0)
    shapes = [(layer.out_features, layer.in_features) for layer in net.layers]
    fault = check_fault(BASE, design, use, shapes, CONFIG)
    expected = 4e-3 + post_write_ber(mtj, 100.0, rate=50.0, ones=ones_fraction(net),
                                     config=CONFIG)
    assert 0.01 < expected < 0.1
    flipped = total = 0
    rng = np.random.default_rng(5)
    for _ in range(30):
        for index, layer in enumerate(net.layers):
            words = layer.weight_words
            after = fault.corrupt_layer(index, words, layer.in_features, rng=rng)
            flipped += int(unpack_bits(words ^ after, layer.in_features).sum())
            total += words.shape[0] * layer.in_features
    rate = flipped / total
    sigma = math.sqrt(expected / total)
    assert abs(rate - expected) < 5 * sigma


def test_codesign_picks_lower_delta_for_busy_uses_and_checks_the_optimum(make_toy) -> None:
    net, images, labels = make_toy(256, 200)
    busy = Use(name="busy", rate=1000.0, deployment=3600.0)
    rare = Use(name="rare", rate=1 / 3600, deployment=10 * YEAR)
    results = run_codesign(net, images, labels, base=BASE, tolerable=2e-3,
                           uses=(busy, rare), config=CONFIG, n_draws=4)
    assert [r.use.name for r in results] == ["busy", "rare"]
    for result in results:
        assert [d.delta for d in result.per_delta] == [30.0, 40.0, 60.0]
        assert len(result.check) == 4 and result.clean == 1.0
        assert result.best in result.per_delta
        best = result.best
        assert best.total == pytest.approx(best.write + best.read + best.compute)
        assert best.writes == max(1.0, math.ceil(result.use.deployment / best.refresh))
    # a rare use amortises each write over few inferences: it refreshes less, so it
    # prefers a more stable cell than the busy one
    assert results[1].best.delta >= results[0].best.delta
    assert results[1].best.writes <= 4
    again = run_codesign(net, images, labels, base=BASE, tolerable=2e-3, uses=(busy,),
                         config=CONFIG, n_draws=4)
    assert again[0].as_dict() == results[0].as_dict()
    with pytest.raises(ValueError, match="write shares"):
        replace(CONFIG, write_shares=(1.5,))
