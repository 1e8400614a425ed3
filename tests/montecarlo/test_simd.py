"""The vector intrinsics equal their NumPy definitions, for both integer widths; the set
bits are listed in order, with and without AVX-512's compress."""

import numpy as np
import pytest
from numba import njit

from mrambnn.montecarlo.dense_draw_kernel import set_bits, set_bits_scalar
from mrambnn.montecarlo.simd import (
    COMPRESS,
    add_columns,
    add_columns_wide,
    compress_bits,
    reach_bits,
    sign_changed_bits,
)


@njit(cache=True)
def _apply(clean_values, columns, column_starts, inverts, count, bounds, clean
           ):  # type: ignore[no-untyped-def]
    n_words = clean_values.size // 32
    values = np.zeros(clean_values.size + 32, clean_values.dtype)  # written from 32 on
    reach = np.zeros(n_words, np.uint32)
    changed = np.zeros(n_words, np.uint32)
    wide = np.zeros(clean_values.size, clean_values.dtype)  # 64 at a time, then 32
    for q in range(0, n_words - 1, 2):
        add_columns_wide(wide, 32 * q, clean_values, 32 * q, columns, column_starts,
                         inverts, count, q)
    if n_words % 2:
        add_columns(wide, 32 * (n_words - 1), clean_values, 32 * (n_words - 1), columns,
                    column_starts, inverts, count, n_words - 1)
    for q in range(n_words):
        add_columns(values, 32 * (q + 1), clean_values, 32 * q, columns, column_starts,
                    inverts, count, q)
    for q in range(n_words):  # bounds and clean read one block further on
        reach[q] = reach_bits(values, 32 * (q + 1), bounds, 32 * (q + 1))
        changed[q] = sign_changed_bits(values, 32 * (q + 1), clean, 32 * (q + 1))
    return values, reach, changed, wide


def _bits(words: np.ndarray) -> np.ndarray:
    return np.unpackbits(words.view(np.uint8), bitorder="little").astype(bool)


@pytest.mark.parametrize("dtype", [np.int16, np.int32])
def test_intrinsics_equal_numpy(dtype) -> None:
    rng = np.random.default_rng(7)
    for _ in range(30):
        n_words = int(rng.integers(1, 6))
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
        values, reach, changed, wide = _apply(start, columns, column_starts, inverts,
                                              n_columns, bounds, clean)
        expected = start.astype(np.int64)
        for c, invert in zip(chosen, inverts, strict=True):
            column_bits = _bits(columns[c * n_words:(c + 1) * n_words] ^ invert)
            expected += np.where(column_bits, 2, -2)
        np.testing.assert_array_equal(values[32:], expected)
        np.testing.assert_array_equal(wide, expected)
        assert not values[:32].any()
        b = bounds[32:].astype(np.int64)
        np.testing.assert_array_equal(_bits(reach), (expected >= -b) & (expected < b))
        np.testing.assert_array_equal(_bits(changed), (expected < 0) != (clean[32:] < 0))


@njit(cache=True)
def _found_bits(masks, scalar):  # type: ignore[no-untyped-def]
    found = np.full(32 * masks.size + 16, -1, np.int32)
    count = set_bits_scalar(masks, masks.size, found) if scalar else set_bits(
        masks, masks.size, found)
    return found[:count]


@njit(cache=True)
def _compressed(masks):  # type: ignore[no-untyped-def]
    found = np.full(32 * masks.size + 16, -1, np.int32)
    count = 0
    for w in range(masks.size):
        count = compress_bits(masks[w], 32 * w, found, count)
    return found[:count]


@pytest.mark.parametrize("scalar", [True, False])
def test_set_bits_lists_every_set_bit_in_order(scalar) -> None:
    """Sparse, dense, empty and full words; more than 64 words (several summaries)."""
    rng = np.random.default_rng(3)
    for n_words in (1, 2, 31, 64, 65, 150):
        for density in (0.0, 0.02, 0.5, 1.0):
            masks = np.packbits(rng.random(32 * n_words) < density,
                                bitorder="little").view(np.uint32)
            expected = np.flatnonzero(_bits(masks))
            np.testing.assert_array_equal(_found_bits(masks, scalar), expected)
            if COMPRESS:
                np.testing.assert_array_equal(_compressed(masks), expected)
