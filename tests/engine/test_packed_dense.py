"""Binary dense layers through the register-tiled conv kernel equal their NumPy
definition: bits of ``direction * (n - 2 popcount(x XOR w)) >= threshold``, packed."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mrambnn.bits import pack_bits, pack_signs, unpack_bits
from mrambnn.engine.packed_dense import IMAGES_PER_ROW, binary_dense_words


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_images=st.integers(1, 3 * IMAGES_PER_ROW + 5),
       in_features=st.integers(1, 300), out=st.integers(1, 70))
def test_binary_dense_words_equal_numpy(seed, n_images, in_features, out):
    rng = np.random.default_rng(seed)
    x = rng.random((n_images, in_features)) < 0.5
    signs = rng.choice(np.array([-1, 1]), (out, in_features))
    # thresholds inside the reach, at its edges and beyond it (constant bits)
    threshold = rng.integers(-in_features - 3, in_features + 4, out)
    threshold[: min(out, 2)] = [in_features + 1, -in_features - 1][: min(out, 2)]
    direction = rng.choice(np.array([-1, 1]), out)
    a = (np.where(x, 1, -1) @ signs.T).astype(np.int64)
    expected = direction * a >= threshold
    words = binary_dense_words(pack_bits(x), pack_signs(signs), in_features, threshold,
                               direction)
    assert words.shape == (n_images, -(-out // 64))
    np.testing.assert_array_equal(unpack_bits(words, out).astype(bool), expected)
    tail = unpack_bits(words, 64 * words.shape[1])[:, out:]
    assert not tail.any()  # padding bits stay 0
