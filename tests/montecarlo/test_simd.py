"""The 32-lane intrinsics equal their NumPy definitions, for both integer widths."""

import numpy as np
import pytest
from numba import njit

from mrambnn.montecarlo.simd import add_signed_bits, copy_lanes, sign_changed_bits, within_bits


@njit(cache=True)
def _apply(values, words, bounds, clean):  # type: ignore[no-untyped-def]
    within = np.zeros(words.size, np.uint32)
    changed = np.zeros(words.size, np.uint32)
    for q in range(words.size):
        add_signed_bits(values, 32 * q, words[q])
    for q in range(words.size):  # bounds and clean read one block further on
        within[q] = within_bits(values, 32 * q, bounds, 32 * (q + 1))
        changed[q] = sign_changed_bits(values, 32 * q, clean, 32 * (q + 1))
    copied = np.zeros(values.size + 32, values.dtype)
    for q in range(words.size):
        copy_lanes(copied, 32 * (q + 1), values, 32 * q)
    return within, changed, copied


def _bits(words: np.ndarray) -> np.ndarray:
    return np.unpackbits(words.view(np.uint8), bitorder="little").astype(bool)


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_intrinsics_equal_numpy(dtype) -> None:
    rng = np.random.default_rng(7)
    for _ in range(20):
        n_words = int(rng.integers(1, 5))
        values = rng.integers(-6, 7, 32 * n_words).astype(dtype)
        start = values.copy()
        words = rng.integers(0, 2**32, n_words, dtype=np.uint64).astype(np.uint32)
        bounds = rng.integers(-1, 6, values.size + 32).astype(dtype)  # -1: no bit, ever
        clean = rng.integers(-3, 3, values.size + 32).astype(dtype)
        within, changed, copied = _apply(values, words, bounds, clean)
        np.testing.assert_array_equal(values, start + np.where(_bits(words), 2, -2))
        np.testing.assert_array_equal(_bits(within), np.abs(values) <= bounds[32:])
        np.testing.assert_array_equal(_bits(changed), (values < 0) != (clean[32:] < 0))
        np.testing.assert_array_equal(copied[32:], values)
        assert not copied[:32].any()
