"""Codes on bit matrices, the protected-memory channel, and the residual-rate closed forms."""

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrambnn.experiments.stats import binomial_interval
from mrambnn.memory.ecc import CODE_NAMES, get_code
from mrambnn.memory.ecc_channel import ECCProtected, store_with_code
from mrambnn.memory.ecc_rates import (
    raw_ber_for_residual,
    residual_ber,
    residual_word_error_rate,
    uncorrectable_word_rate,
)


def _random_data(code, n, seed=0):
    return np.random.default_rng(seed).integers(0, 2, (n, code.k)).astype(np.uint8)


@pytest.mark.parametrize("name", CODE_NAMES)
def test_round_trip_and_systematic(name):
    code = get_code(name)
    data = _random_data(code, 64)
    codeword = code.encode(data)
    assert codeword.shape == (64, code.n)
    np.testing.assert_array_equal(codeword[:, : code.k], data)
    result = code.decode(codeword)
    np.testing.assert_array_equal(result.data, data)
    assert not result.corrected.any() and not result.detected.any()


@settings(max_examples=25, deadline=None)
@given(name=st.sampled_from(CODE_NAMES), seed=st.integers(0, 2**32 - 1),
       n_errors=st.integers(0, 3))
def test_any_pattern_of_at_most_t_errors_is_corrected(name, seed, n_errors):
    code = get_code(name)
    n_errors = min(n_errors, code.t)
    rng = np.random.default_rng(seed)
    data = _random_data(code, 8, seed)
    received = code.encode(data)
    for row in received:
        row[rng.choice(code.n, n_errors, replace=False)] ^= 1
    result = code.decode(received)
    np.testing.assert_array_equal(result.data, data)
    assert not result.detected.any()
    assert result.corrected.all() == (n_errors > 0)


def test_dec_bch_corrects_every_double_error():
    code = get_code("bch-dec-78-64")
    data = _random_data(code, 1, 3)
    pairs = np.array(list(itertools.combinations(range(code.n), 2)))
    received = np.repeat(code.encode(data), len(pairs), axis=0)
    received[np.arange(len(pairs))[:, None], pairs] ^= 1
    result = code.decode(received)
    assert (result.data == data).all() and result.corrected.all()


def test_secded_detects_every_double_error_through_the_code_interface():
    code = get_code("secded-72-64")
    data = _random_data(code, 1, 4)
    pairs = np.array(list(itertools.combinations(range(code.n), 2)))
    received = np.repeat(code.encode(data), len(pairs), axis=0)
    received[np.arange(len(pairs))[:, None], pairs] ^= 1
    assert code.decode(received).detected.all()


def test_unknown_code_and_bad_input_are_clear_errors():
    with pytest.raises(ValueError, match="secded-72-64"):
        get_code("hamming-7-4")
    with pytest.raises(ValueError, match=r"\(N, 64\)"):
        get_code("secded-72-64").encode(np.zeros((2, 63), np.uint8))
    with pytest.raises(ValueError, match="raw_ber"):
        ECCProtected(code="secded-72-64", raw_ber=1.5)


def test_channel_without_errors_is_the_identity_and_preserves_shape():
    words = np.random.default_rng(5).integers(0, 2**63, (3, 7), dtype=np.uint64)
    for name in ("secded-72-64", "bch-dec-532-512"):
        out, counts = store_with_code(words, name, 0.0, rng=np.random.default_rng(0))
        np.testing.assert_array_equal(out, words)
        assert counts.corrected == counts.detected == counts.miscorrected == 0


def _monte_carlo(name, p, n_words, seed):
    """Data-word error indicator and wrong-bit count per message, from the real decoder."""
    code = get_code(name)
    rng = np.random.default_rng(seed)
    words = rng.integers(0, 2**64, (n_words, code.k // 64), dtype=np.uint64)
    decoded, counts = store_with_code(words, code, p, rng=rng)
    wrong_bits = np.bitwise_count(decoded ^ words).sum(axis=1)
    return wrong_bits, counts


@pytest.mark.parametrize(("name", "bers", "n_words"), [
    ("secded-72-64", (2e-3, 5e-3, 1e-2), 200_000),
    ("bch-dec-78-64", (3e-3, 6e-3, 1.2e-2), 40_000),
])
def test_closed_forms_match_the_decoder_monte_carlo(name, bers, n_words):
    code = get_code(name)
    for i, p in enumerate(bers):
        wrong_bits, counts = _monte_carlo(name, p, n_words, seed=100 + i)
        failed = int((wrong_bits > 0).sum())
        low, high = binomial_interval(failed, n_words, confidence=0.99)
        assert low <= residual_word_error_rate(code, p) <= high, (p, failed)
        # residual BER: mean wrong bits per data bit, CI over independent words
        per_bit = wrong_bits / code.k
        half = 2.576 * per_bit.std(ddof=1) / np.sqrt(n_words)
        assert abs(per_bit.mean() - residual_ber(code, p)) <= half, (p, per_bit.mean())
        assert counts.detected + counts.miscorrected <= failed + counts.detected


def test_closed_form_values_and_inverse():
    # docs/physics.md section 5 (derived): at p = 1e-6 SECDED 2.6e-9, DEC(78, 64) 7.6e-14
    assert uncorrectable_word_rate("secded-72-64", 1e-6) == pytest.approx(2.556e-9, rel=1e-3)
    assert uncorrectable_word_rate("bch-dec-78-64", 1e-6) == pytest.approx(7.61e-14, rel=1e-2)
    assert residual_ber("none", 1e-3) == 1e-3
    for name in CODE_NAMES:
        p = raw_ber_for_residual(name, 1e-9)
        assert uncorrectable_word_rate(name, p) == pytest.approx(1e-9, rel=1e-6)
    order = [raw_ber_for_residual(n, 1e-9) for n in
             ("none", "secded-72-64", "bch-dec-78-64", "bch-tec-85-64")]
    assert order == sorted(order)


def _received_words(code, n_words, rng):
    """Half uniformly random words, half codewords with 0 .. 2t + 2 random errors."""
    half = n_words // 2
    uniform = rng.integers(0, 2, (half, code.n)).astype(np.uint8)
    near = code.encode(rng.integers(0, 2, (n_words - half, code.k)).astype(np.uint8))
    n_errors = rng.integers(0, 2 * code.t + 3, len(near))
    for row, count in zip(near, n_errors, strict=True):
        row[rng.choice(code.n, count, replace=False)] ^= 1
    return np.concatenate([uniform, near])


@pytest.mark.slow
@pytest.mark.parametrize(("name", "n_words"), [("bch-dec-78-64", 100_000),
                                               ("bch-tec-85-64", 100_000),
                                               ("bch-dec-532-512", 1_000)])
def test_compiled_bch_decoder_equals_galois(name, n_words):
    """The compiled decoder returns galois' words and error counts, failures included,
    on 10^5 random words for t = 2 and t = 3 (the 532-bit code: fewer, galois is slow
    there)."""
    import galois

    code = get_code(name)
    reference = galois.BCH(code.n_full, code.k_full)
    rng = np.random.default_rng(n_words + code.n)
    data = rng.integers(0, 2, (64, code.k)).astype(np.uint8)
    np.testing.assert_array_equal(code.encode(data),
                                  np.asarray(reference.encode(galois.GF2(data)), np.uint8))
    received = _received_words(code, n_words, rng)
    words, n_errors = code.decode_words(received)
    expected_words, expected_errors = reference.decode(  # about 0.7 ms a word
        galois.GF2(received), output="codeword", errors=True)
    np.testing.assert_array_equal(n_errors, np.asarray(expected_errors))
    np.testing.assert_array_equal(words, np.asarray(expected_words, np.uint8))
    assert 0.2 < (n_errors < 0).mean() < 0.8  # both outcomes are well represented
    result = code.decode(received)
    np.testing.assert_array_equal(result.data, words[:, : code.k])
    np.testing.assert_array_equal(result.detected, n_errors < 0)
    np.testing.assert_array_equal(result.corrected, n_errors > 0)
