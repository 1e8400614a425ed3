"""The 32-lane intrinsics equal their NumPy definitions, for both integer widths."""

import numpy as np
import pytest
from numba import njit

from mrambnn.montecarlo.simd import add_columns, reach_bits, sign_changed_bits


@njit(cache=True)
def _apply(clean_values, columns, column_starts, inverts, count, bounds, clean
           ):  # type: ignore[no-untyped-def]
    n_words = clean_values.size // 32
    values = np.zeros(clean_values.size + 32, clean_values.dtype)  # written from 32 on
    reach = np.zeros(n_words, np.uint32)
    changed = np.zeros(n_words, np.uint32)
    for q in range(n_words):
        add_columns(values, 32 * (q + 1), clean_values, 32 * q, columns, column_starts,
                    inverts, count, q)
    for q in range(n_words):  # bounds and clean read one block further on
        reach[q] = reach_bits(values, 32 * (q + 1), bounds, 32 * (q + 1))
        changed[q] = sign_changed_bits(values, 32 * (q + 1), clean, 32 * (q + 1))
    return values, reach, changed


def _bits(words: np.ndarray) -> np.ndarray:
    return np.unpackbits(words.view(np.uint8), bitorder="little").astype(bool)


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_intrinsics_equal_numpy(dtype) -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        n_words = int(rng.integers(1, 5))
        n_columns = int(rng.integers(0, 6))
        start = rng.integers(-9, 10, 32 * n_words).astype(dtype)
        # n_columns + 2 stored columns, n_columns of them added, from scattered starts
        columns = rng.integers(0, 2**32, (n_columns + 2) * n_words,
                               dtype=np.uint64).astype(np.uint32)
        chosen = rng.permutation(n_columns + 2)[:n_columns]
        column_starts = (chosen * n_words).astype(np.int64)
        inverts = np.where(rng.random(n_columns) < 0.5, 0xFFFFFFFF, 0).astype(np.uint32)
        bounds = rng.integers(-1, 8, 32 * n_words + 32).astype(dtype)  # <= 0: no bit, ever
        clean = rng.integers(-3, 3, 32 * n_words + 32).astype(dtype)
        values, reach, changed = _apply(start, columns, column_starts, inverts, n_columns,
                                        bounds, clean)
        expected = start.astype(np.int64)
        for c, invert in zip(chosen, inverts, strict=True):
            set_bits = _bits(columns[c * n_words:(c + 1) * n_words] ^ invert)
            expected += np.where(set_bits, 2, -2)
        np.testing.assert_array_equal(values[32:], expected)
        assert not values[:32].any()
        b = bounds[32:].astype(np.int64)
        np.testing.assert_array_equal(_bits(reach), (expected >= -b) & (expected < b))
        np.testing.assert_array_equal(_bits(changed), (expected < 0) != (clean[32:] < 0))
