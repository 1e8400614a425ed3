import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from mrambnn.bits import n_words, pack_signs, popcount, sign, unpack_signs, valid_bit_mask
from mrambnn.engine import binary_dense_preactivation, integer_dense_preactivation

signs_2d = st.integers(1, 200).flatmap(
    lambda n: arrays(np.int8, st.tuples(st.integers(1, 6), st.just(n)),
                     elements=st.sampled_from([-1, 1])))


@given(signs_2d)
def test_pack_unpack_round_trip(signs: np.ndarray) -> None:
    words = pack_signs(signs)
    assert words.dtype == np.uint64 and words.shape == (signs.shape[0], n_words(signs.shape[1]))
    np.testing.assert_array_equal(unpack_signs(words, signs.shape[1]), signs)
    # Padding bits stay zero: the words never exceed the valid-bit mask.
    assert not np.any(words & ~valid_bit_mask(signs.shape[1]))


def test_bit_layout_is_little_endian_per_word() -> None:
    signs = -np.ones(130, dtype=np.int8)
    signs[[0, 63, 64, 129]] = 1
    words = pack_signs(signs[None])[0]
    assert list(words) == [1 | (1 << 63), 1, 2]


def test_sign_of_zero_is_plus_one() -> None:
    np.testing.assert_array_equal(sign(np.array([-0.5, 0.0, 2.0])), [-1, 1, 1])


@given(st.integers(1, 300), st.integers(1, 5), st.integers(1, 7), st.integers(0, 2**32 - 1))
def test_xnor_popcount_equals_integer_dot(n: int, rows: int, out: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.choice(np.array([-1, 1], dtype=np.int8), size=(rows, n))
    w = rng.choice(np.array([-1, 1], dtype=np.int8), size=(out, n))
    expected = x.astype(np.int64) @ w.T.astype(np.int64)
    got = binary_dense_preactivation(pack_signs(x), pack_signs(w), n)
    np.testing.assert_array_equal(got, expected)


@given(st.integers(1, 300), st.integers(0, 2**32 - 1))
def test_integer_input_dot(n: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, size=(4, n), dtype=np.uint8)
    w = rng.choice(np.array([-1, 1], dtype=np.int8), size=(3, n))
    expected = x.astype(np.int64) @ w.T.astype(np.int64)
    np.testing.assert_array_equal(integer_dense_preactivation(x, pack_signs(w), n), expected)


def test_popcount() -> None:
    words = np.array([0, 1, 2**64 - 1, 0xF0F0], dtype=np.uint64)
    np.testing.assert_array_equal(popcount(words), [0, 1, 64, 8])
