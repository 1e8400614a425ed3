"""Per-cell variability: a chip without spread draws exactly what the uniform models draw;
per-cell retention and read disturb flip cells at the closed forms' rates; per-cell WERs
come from the switching tables."""

import numpy as np
import pytest
from scipy import stats

from mrambnn.experiments.deploy import corrupt_net
from mrambnn.memory.cell_faults import CellRetention, ChainedFaults, Chip, sample_cells
from mrambnn.memory.write_faults import WriteFailure
from mrambnn.models import load_model
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.presets import get_preset
from mrambnn.physics.reliability import (
    read_disturb_probability,
    retention_bit_error,
    retention_failure,
)
from mrambnn.physics.switching import switching_table, write_error_rate
from mrambnn.physics.variability import SPREAD_PRESETS, CellArray, CellSpread, cell_wer


def _shapes(net) -> list[tuple[int, int]]:
    return [(layer.out_features, layer.in_features) for layer in net.layers]


@pytest.mark.parametrize("prior", ["random", "reset"])
def test_chip_without_spread_draws_exactly_the_uniform_write_failure(prior) -> None:
    net = load_model("fashion-conv")
    mtj = get_preset("pmtj-40nm")
    chip = Chip.for_shapes(mtj, SPREAD_PRESETS["none"], _shapes(net),
                           rng=np.random.default_rng(0))
    current, width = 84e-6, 10e-9
    per_cell = chip.write_failure(current=current, width=width, prior=prior)
    uniform = WriteFailure(
        wer_ap2p=float(write_error_rate(mtj, current=current, width=width, direction="ap2p")),
        wer_p2ap=float(write_error_rate(mtj, current=current, width=width, direction="p2ap")),
        prior=prior)
    assert 1e-4 < uniform.wer_p2ap < 0.5  # a weak pulse: many flips to compare
    for seed in range(3):
        a = corrupt_net(net, per_cell, rng=np.random.default_rng(seed))
        b = corrupt_net(net, uniform, rng=np.random.default_rng(seed))
        for x, y in zip(a.weight_words, b.weight_words, strict=True):
            np.testing.assert_array_equal(x, y)


def test_thinning_samples_each_cell_at_its_probability() -> None:
    rng = np.random.default_rng(1)
    rows, n_bits = 400, 250
    p = rng.choice([0.0, 0.01, 0.05, 0.2], size=(rows, n_bits))
    mask = np.full((rows, 4), np.uint64(2**64 - 1))
    counts = np.zeros((rows, n_bits))
    trials = 200
    for _ in range(trials):
        positions = sample_cells(mask, n_bits, p, rng=rng)
        np.add.at(counts.ravel(), positions, 1)
    for value in (0.0, 0.01, 0.05, 0.2):
        chosen = p == value
        flips, n = counts[chosen].sum(), chosen.sum() * trials
        assert stats.binomtest(int(flips), int(n), value).pvalue > 1e-4 if value else flips == 0


def test_retention_with_spread_matches_the_averaged_closed_form() -> None:
    """Over a chip with sigma_delta / delta = 10 %, the fraction of wrong cells after time
    t equals `retention_bit_error` averaged over the same Gaussian delta; the weakest
    cells, nearly random by then, make it smaller than the first-flip probability
    `retention_failure`."""
    mtj = MTJ(delta=30.0, ic0_p2ap=60e-6, ic0_ap2p=40e-6, tau_d=2e-9)
    spread = CellSpread(delta=0.10)
    chip = Chip.for_shapes(mtj, spread, [(1000, 1000)], rng=np.random.default_rng(2))
    time = 1.0  # s: p ~ 1e-3 on average, dominated by the low-delta tail
    words = np.random.default_rng(3).integers(0, 2**64, (1000, 16), dtype=np.uint64)
    channel = CellRetention(chip=chip, time=time)
    flipped = corrupt_net_words(channel, words, 1000)
    expected = retention_bit_error(mtj, time=time, delta_sigma=0.10 * mtj.delta)
    assert 1e-4 < expected < 1e-2
    assert expected < retention_failure(mtj, time=time, delta_sigma=0.10 * mtj.delta)
    assert stats.binomtest(flipped, 10**6, expected).pvalue > 1e-4


def test_retention_without_spread_matches_the_first_flip_closed_form() -> None:
    mtj = MTJ(delta=30.0, ic0_p2ap=60e-6, ic0_ap2p=40e-6, tau_d=2e-9)
    chip = Chip.for_shapes(mtj, SPREAD_PRESETS["none"], [(1000, 1000)],
                           rng=np.random.default_rng(8))
    words = np.random.default_rng(9).integers(0, 2**64, (1000, 16), dtype=np.uint64)
    flipped = corrupt_net_words(CellRetention(chip=chip, time=20.0), words, 1000)
    first_flip = retention_failure(mtj, time=20.0)
    assert 5e-4 < first_flip < 1e-2  # small: the two forms agree to 0.1 %
    assert retention_bit_error(mtj, time=20.0) == pytest.approx(first_flip, rel=5e-3)
    assert stats.binomtest(flipped, 10**6, first_flip).pvalue > 1e-4


def corrupt_net_words(channel, words: np.ndarray, n_bits: int) -> int:
    out = channel.corrupt_layer(0, words, n_bits, rng=np.random.default_rng(4))
    return int(np.bitwise_count(out ^ words).sum())


def test_read_disturb_flips_only_the_pushed_state_at_the_closed_form_rate() -> None:
    mtj = MTJ(delta=40.0, ic0_p2ap=60e-6, ic0_ap2p=40e-6, tau_d=2e-9)
    chip = Chip.for_shapes(mtj, SPREAD_PRESETS["none"], [(1000, 1000)],
                           rng=np.random.default_rng(5))
    channel = CellRetention(chip=chip, n_reads=10**6, read_current=15e-6,
                            read_duration=5e-9, read_direction="p2ap")
    ones = np.full((1000, 16), np.uint64(2**64 - 1))
    zeros = np.zeros((1000, 16), np.uint64)
    expected = read_disturb_probability(mtj, current=15e-6, duration=5e-9, n_reads=10**6,
                                        direction="p2ap")
    assert 1e-4 < expected < 1e-1
    assert stats.binomtest(corrupt_net_words(channel, ones, 1000), 10**6,
                           expected).pvalue > 1e-4
    assert corrupt_net_words(channel, zeros, 1000) == 0  # AP cells are pushed to stay


def test_cell_wer_from_the_tables() -> None:
    mtj = get_preset("pmtj-40nm")
    nominal = float(write_error_rate(mtj, current=90e-6, width=10e-9))
    cells = CellArray(delta=np.array([mtj.delta, mtj.delta, 55.0, 44.0]),
                      ic0_p2ap=np.array([1.0, 1.1, 1.0, 1.0]) * mtj.ic0_p2ap,
                      ic0_ap2p=np.full(4, mtj.ic0_ap2p), r_p=np.full(4, mtj.r_p))
    wer = cell_wer(mtj, cells, current=90e-6, width=10e-9)
    assert wer[0] == pytest.approx(nominal, rel=1e-12)  # on a table: that table
    # a higher ic0 fails more often; at the same ic0 a lower barrier starts from a wider
    # angle distribution and switches sooner (retention is what it costs)
    assert wer[1] > nominal > wer[2] > wer[3]
    s = 10e-9 / mtj.tau_d
    i = 90e-6 / mtj.ic0_p2ap
    table_50 = switching_table(50.0)
    from mrambnn.physics.switching import reduced_wer
    at_55 = np.exp(0.5 * (np.log(reduced_wer(table_50, i, s))
                          + np.log(reduced_wer(switching_table(60.0), i, s))))
    assert wer[2] == pytest.approx(at_55, rel=1e-9)


def test_chained_channels_and_shape_checks() -> None:
    net = load_model("mnist-mlp")
    mtj = get_preset("pmtj-40nm")
    chip = Chip.for_shapes(mtj, SPREAD_PRESETS["pmtj-array"], _shapes(net),
                           rng=np.random.default_rng(6))
    write = chip.write_failure(current=100e-6, width=10e-9)
    later = CellRetention(chip=chip, time=3600.0)
    faulty = corrupt_net(net, ChainedFaults(stages=(write, later)),
                         rng=np.random.default_rng(7))
    assert any((a != b).any() for a, b in zip(faulty.weight_words, net.weight_words,
                                              strict=True))
    other = Chip.for_shapes(mtj, SPREAD_PRESETS["none"], [(3, 5)], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="holds"):
        CellRetention(chip=other, time=1.0).corrupt_layer(0, np.zeros((4, 1), np.uint64), 5,
                                                          rng=np.random.default_rng(0))
