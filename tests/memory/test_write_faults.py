"""Write failures hit only cells that must switch, each direction at its own rate."""

import numpy as np
import pytest

from mrambnn.bits import pack_signs, valid_bit_mask
from mrambnn.experiments.stats import binomial_interval
from mrambnn.memory.write_faults import AsymmetricFlip, WriteFailure


def _words(rows: int, n_bits: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return pack_signs(rng.choice(np.array([-1, 1], dtype=np.int8), size=(rows, n_bits)))


def _count(words: np.ndarray) -> int:
    return int(np.bitwise_count(words).sum())


def test_only_cells_that_must_switch_can_fail() -> None:
    target, previous = _words(300, 500, 0), _words(300, 500, 1)
    fault = WriteFailure(wer_ap2p=0.3, wer_p2ap=0.1, prior="previous", previous=previous)
    stored = fault.corrupt(target, 500, rng=np.random.default_rng(2))
    errors = stored ^ target
    assert not np.any(errors & ~(target ^ previous))  # unchanged cells never err
    up, down = target & ~previous, ~target & previous & valid_bit_mask(500)
    for mask, p in ((up, 0.3), (down, 0.1)):
        low, high = binomial_interval(_count(errors & mask), _count(mask), confidence=0.999)
        assert low <= p <= high
    # A failed cell keeps its previous content.
    np.testing.assert_array_equal(stored & errors, previous & errors)


def test_random_prior_gives_a_quarter_of_each_direction() -> None:
    target = _words(1000, 1000, 3)
    stored = WriteFailure(wer_ap2p=0.2, wer_p2ap=0.2).corrupt(target, 1000,
                                                              rng=np.random.default_rng(4))
    low, high = binomial_interval(_count(stored ^ target), 10**6, confidence=0.999)
    assert low <= 0.5 * 0.2 <= high  # half the cells must switch


def test_reset_prior_only_ones_can_fail_from_zero_reset() -> None:
    target = _words(200, 300, 5)
    stored = WriteFailure(wer_ap2p=1.0, wer_p2ap=1.0, prior="reset", reset_bit=0).corrupt(
        target, 300, rng=np.random.default_rng(6))
    assert _count(stored) == 0  # every 0 -> 1 write failed, zeros were never written


def test_zero_wer_is_exact_and_bad_prior_is_rejected() -> None:
    target = _words(10, 70, 7)
    exact = WriteFailure(wer_ap2p=0.0, wer_p2ap=0.0).corrupt(target, 70,
                                                             rng=np.random.default_rng(0))
    np.testing.assert_array_equal(exact, target)
    with pytest.raises(ValueError, match="reset, random, previous"):
        WriteFailure(wer_ap2p=0.1, wer_p2ap=0.1, prior="magic")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        WriteFailure(wer_ap2p=1.1, wer_p2ap=0.1)


def test_asymmetric_flip_rates_per_state() -> None:
    words = _words(1000, 1000, 8)
    stored = AsymmetricFlip(p_from_one=0.02, p_from_zero=0.002).corrupt(
        words, 1000, rng=np.random.default_rng(9))
    errors = stored ^ words
    ones, zeros = words, ~words & valid_bit_mask(1000)
    for mask, p in ((ones, 0.02), (zeros, 0.002)):
        low, high = binomial_interval(_count(errors & mask), _count(mask), confidence=0.999)
        assert low <= p <= high
