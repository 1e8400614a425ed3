"""SECDED(72, 64): exhaustive single and double errors, round trips, residual rates."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats

from mrambnn.experiments.stats import binomial_interval
from mrambnn.memory.secded import SECDED

WORDS = np.random.default_rng(0).integers(0, 2**64, size=64, dtype=np.uint64)


def _flip(data, check, position):
    """Flip codeword bit ``position`` (0..63 data, 64..71 check)."""
    data, check = data.copy(), check.copy()
    if position < 64:
        data ^= np.uint64(1) << np.uint64(position)
    else:
        check ^= np.uint8(1 << (position - 64))
    return data, check


def test_every_single_error_is_corrected() -> None:
    check = SECDED.encode(WORDS)
    for position in range(72):
        data, chk = _flip(WORDS, check, position)
        result = SECDED.decode(data, chk)
        np.testing.assert_array_equal(result.data, WORDS)
        assert result.corrected.all() and not result.detected.any()


def test_every_double_error_is_detected() -> None:
    words = WORDS[:8]
    check = SECDED.encode(words)
    for a in range(72):
        for b in range(a + 1, 72):
            data, chk = _flip(*_flip(words, check, a), b)
            result = SECDED.decode(data, chk)
            assert result.detected.all() and not result.corrected.any()


@given(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=50))
def test_round_trip(values) -> None:
    data = np.array(values, dtype=np.uint64)
    result = SECDED.decode(data, SECDED.encode(data))
    np.testing.assert_array_equal(result.data, data)
    assert not result.corrected.any() and not result.detected.any()


def test_residual_word_error_matches_closed_form() -> None:
    rng = np.random.default_rng(1)
    n_words = 200_000
    for p in (1e-3, 5e-3, 2e-2):
        data = rng.integers(0, 2**64, size=n_words, dtype=np.uint64)
        check = SECDED.encode(data)
        flips = rng.random((n_words, 72)) < p
        weights = np.left_shift(np.uint64(1), np.arange(64, dtype=np.uint64))
        noisy = data ^ np.bitwise_or.reduce(np.where(flips[:, :64], weights, np.uint64(0)), axis=1)
        noisy_check = check ^ np.packbits(flips[:, 64:], axis=1, bitorder="little")[:, 0]
        result = SECDED.decode(noisy, noisy_check)
        wrong = int(np.count_nonzero(result.data != data))
        # Closed form: 0 or 1 errors are always fixed; 2 or more leave the data wrong,
        # except a double error confined to the 8 check bits (the data are untouched and
        # returned as is). Patterns of >= 3 errors all in check bits are neglected
        # (relative weight below 1e-3 here).
        p_two_plus = stats.binom.sf(1, 72, p)
        only_check_doubles = stats.binom.pmf(2, 72, p) * (8 * 7 / 2) / (72 * 71 / 2)
        expected = p_two_plus - only_check_doubles
        low, high = binomial_interval(wrong, n_words, confidence=0.999)
        assert low <= expected <= high, (p, wrong / n_words, expected)


def test_protected_memory_fixes_sparse_errors_and_counts_outcomes() -> None:
    from mrambnn.memory.ecc_channel import SECDEDProtected, store_with_secded

    rng = np.random.default_rng(3)
    words = rng.integers(0, 2**64, size=(2000, 4), dtype=np.uint64)
    decoded, counts = store_with_secded(words, 1e-3, rng=np.random.default_rng(4))
    n = words.size
    # Single errors per word are all corrected; expect about 72 p n of them.
    assert abs(counts.corrected - 72e-3 * n) < 5 * np.sqrt(72e-3 * n)
    # Double errors are detected: about C(72, 2) p^2 n of them; triple errors (which can
    # be miscorrected) are rarer still: C(72, 3) p^3 n ~ 0.5 here.
    doubles = stats.binom.pmf(2, 72, 1e-3) * n
    assert abs(counts.detected - doubles) < 5 * np.sqrt(doubles)
    assert counts.miscorrected <= 5
    wrong = int(np.count_nonzero(decoded != words))
    assert wrong <= counts.detected + counts.miscorrected
    clean = SECDEDProtected(raw_ber=0.0).corrupt(words, 250, rng=rng)
    mask = np.uint64((1 << 58) - 1)  # 250 bits = 3 full words + 58 bits
    np.testing.assert_array_equal(clean[:, :3], words[:, :3])
    np.testing.assert_array_equal(clean[:, 3], words[:, 3] & mask)

