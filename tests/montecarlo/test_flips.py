"""A draw's flipped weights, listed from the stored words."""

import numpy as np
import pytest

from mrambnn.montecarlo.flips import flipped_weights


def test_flipped_weights_against_numpy() -> None:
    rng = np.random.default_rng(5)
    clean = rng.integers(0, 2**63, (7, 3), dtype=np.int64).astype(np.uint64) * np.uint64(2) + (
        rng.integers(0, 2, (7, 3)).astype(np.uint64))
    flips = np.zeros((7, 3), np.uint64)
    for _ in range(40):
        flips[rng.integers(7), rng.integers(3)] |= np.uint64(1) << np.uint64(rng.integers(64))
    outputs, inputs, signs = flipped_weights(clean, clean ^ flips)
    bits = np.unpackbits(flips.view(np.uint8), axis=1, bitorder="little").astype(bool)
    expected_out, expected_in = np.nonzero(bits)  # by output, then input
    np.testing.assert_array_equal(outputs, expected_out)
    np.testing.assert_array_equal(inputs, expected_in)
    clean_bits = np.unpackbits(clean.view(np.uint8), axis=1, bitorder="little").astype(int)
    np.testing.assert_array_equal(signs, 2 * clean_bits[expected_out, expected_in] - 1)
    assert flipped_weights(clean, clean)[0].size == 0


def test_flipped_weights_refuse_a_shape_mismatch() -> None:
    with pytest.raises(ValueError, match="stored weights of shape"):
        flipped_weights(np.zeros((4, 2), np.uint64), np.zeros((4, 3), np.uint64))
