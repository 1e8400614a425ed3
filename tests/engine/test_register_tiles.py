"""The register tiles' sums equal NumPy's: XOR-popcount over packed words, and +-x sums
of 16-bit inputs (2 P - S, wrapping arithmetic), for scattered patch offsets."""

import numpy as np
from numba import njit

from mrambnn.engine.register_tiles import make_masked_sum_tile, make_popcount_tile

_POPCOUNT = make_popcount_tile(4, 2)
_MASKED = make_masked_sum_tile(4, 3)


@njit(cache=True)
def _popcount_sums(sums, x, offsets, w, f0, stride):  # type: ignore[no-untyped-def]
    _POPCOUNT(sums, 0, 16, x, 5, 3, offsets, w, f0, stride, offsets.size)


@njit(cache=True)
def _masked_sums(sums, x, offsets, w, stride):  # type: ignore[no-untyped-def]
    _MASKED(sums, 0, 48, x, 2, 7, offsets, w, 0, stride, offsets.size)


def test_popcount_tile_equals_numpy():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 2**63, 400, dtype=np.uint64)
    offsets = rng.integers(0, 300, 13).astype(np.int64)
    stride, f0 = 48, 16
    w = rng.integers(0, 2**63, 13 * stride, dtype=np.uint64)
    sums = np.zeros(4 * 16, np.int32)
    _popcount_sums(sums, x, offsets, w, f0, stride)
    for p in range(4):
        words = x[5 + 3 * p + offsets]  # (terms,)
        weights = w.reshape(13, stride)[:, f0:f0 + 16]  # (terms, 16)
        expected = np.bitwise_count(words[:, None] ^ weights).sum(axis=0)
        np.testing.assert_array_equal(sums[16 * p:16 * p + 16], expected)


def test_masked_sum_tile_equals_numpy_with_wrapping_partial_sums():
    rng = np.random.default_rng(2)
    x = rng.integers(-1200, 1201, 500).astype(np.int16)
    offsets = rng.integers(0, 400, 27).astype(np.int64)
    stride = 3
    w = rng.integers(0, 2**16, 27 * stride).astype(np.uint16)
    sums = np.zeros(4 * 48, np.int16)
    _masked_sums(sums, x, offsets, w, stride)
    bits = (w.reshape(27, stride)[:, :, None] >> np.arange(16, dtype=np.uint16)) & 1
    signs = np.where(bits.reshape(27, 48) == 1, 1, -1)
    for p in range(4):
        values = x[2 + 7 * p + offsets].astype(np.int64)  # (terms,)
        expected = values @ signs  # exact: |sum| <= 27 * 1200 < 2^15
        np.testing.assert_array_equal(sums[48 * p:48 * p + 48], expected)
