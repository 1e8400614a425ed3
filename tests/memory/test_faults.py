"""Statistical checks of the bit-flip fault model (fixed seeds, explicit bounds)."""

import numpy as np
import pytest

from mrambnn.bits import pack_signs, valid_bit_mask
from mrambnn.experiments.stats import binomial_interval
from mrambnn.memory import BitFlip, flip_bits, sample_flip_positions


def _words(rows: int, n_bits: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return pack_signs(rng.choice(np.array([-1, 1], dtype=np.int8), size=(rows, n_bits)))


@pytest.mark.parametrize("p", [1e-4, 1e-3, 1e-2, 0.1, 0.5])
def test_empirical_flip_rate_within_binomial_interval(p: float) -> None:
    rows, n_bits = 2000, 1000  # 2e6 bits; padding bits exist (1000 is not a multiple of 64)
    words = _words(rows, n_bits)
    corrupted = BitFlip(ber=p).corrupt(words, n_bits, rng=np.random.default_rng(7))
    flips = int(np.bitwise_count(words ^ corrupted).sum())
    # 99.9 % Clopper-Pearson interval of the flip count: a failure would be a real bias.
    low, high = binomial_interval(flips, rows * n_bits, confidence=0.999)
    assert low <= p <= high, (flips, low, high)


def test_flips_are_spread_over_rows_and_bit_positions() -> None:
    rows, n_bits, p = 400, 300, 0.05
    words = _words(rows, n_bits, seed=1)
    corrupted = BitFlip(ber=p).corrupt(words, n_bits, rng=np.random.default_rng(2))
    diff = np.unpackbits((words ^ corrupted).view(np.uint8), axis=1, bitorder="little")[:, :n_bits]
    per_column = diff.sum(axis=0)  # Binomial(400, 0.05) each: mean 20
    assert per_column.min() > 0 and abs(per_column.mean() - rows * p) < 2.0
    # Chi-square-like check of uniformity over columns (variance of a binomial count).
    assert 0.6 < per_column.var() / (rows * p * (1 - p)) < 1.5


def test_zero_rate_changes_nothing_and_padding_is_never_touched() -> None:
    words = _words(50, 70)
    same = BitFlip(ber=0.0).corrupt(words, 70, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(same, words)
    all_flipped = BitFlip(ber=1.0).corrupt(words, 70, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(all_flipped, words ^ valid_bit_mask(70))


def test_same_stream_same_faults_and_input_untouched() -> None:
    words = _words(30, 200)
    before = words.copy()
    a = BitFlip(ber=0.01).corrupt(words, 200, rng=np.random.default_rng(9))
    b = BitFlip(ber=0.01).corrupt(words, 200, rng=np.random.default_rng(9))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(words, before)


def test_flip_bits_targets_exact_positions() -> None:
    words = np.zeros((2, 2), dtype=np.uint64)
    out = flip_bits(words, 100, np.array([0, 65, 100, 199]))
    assert out.tolist() == [[1, 2], [1, 1 << 35]]


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_probability_outside_unit_interval_is_rejected(bad: float) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        BitFlip(ber=bad)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        sample_flip_positions(10, bad, rng=np.random.default_rng(0))
