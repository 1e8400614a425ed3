"""The compiled conv kernels equal a plain NumPy convolution, bits, pooling and margins:
those on bool maps (`conv_bits`, `conv_margins`) and the packed ones of the full pass
(`binary_conv_words`, `integer_conv_words`)."""

import numpy as np
import pytest

from mrambnn.bits import pack_bits, unpack_bits
from mrambnn.engine.kernels import conv_bits, conv_margins
from mrambnn.engine.packed_conv import (
    SumsTooWide,
    binary_conv_words,
    fits_signed_tile,
    integer_conv_words,
)


def _reference(x: np.ndarray, w: np.ndarray, threshold: np.ndarray, direction: np.ndarray,
               pool: bool, padding: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(bits after pooling, margins before pooling) of a conv with zero padding
    (default k // 2, 'same').

    x (N, H, W, C) integers (+-1 for a binary layer), w (out, k, k, C) +-1. Max-pooling
    the pre-activations before a BatchNorm of negative scale is a min-pool after it: the
    bits of a window are OR-ed, or AND-ed where direction < 0."""
    k = w.shape[1]
    r = k // 2 if padding is None else padding
    n, h, width = x.shape[0], x.shape[1] + 2 * r - k + 1, x.shape[2] + 2 * r - k + 1
    padded = np.pad(x.astype(np.int64), ((0, 0), (r, r), (r, r), (0, 0)))
    a = np.zeros((n, h, width, len(w)), np.int64)
    for ky in range(k):
        for kx in range(k):
            a += np.einsum("nyxc,oc->nyxo", padded[:, ky:ky + h, kx:kx + width],
                           w[:, ky, kx].astype(np.int64))
    margins = direction * a - threshold
    bits = margins >= 0
    if pool:
        windows = bits.reshape(n, h // 2, 2, width // 2, 2, len(w))
        bits = np.where(direction < 0, windows.all(axis=(2, 4)), windows.any(axis=(2, 4)))
    return bits, margins


@pytest.mark.parametrize("n_out", [11, 50])
@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("padding", [None, 0, 1])
@pytest.mark.parametrize(("channels", "k", "integer", "scale"), [
    (3, 3, True, 128),  # a CIFAR first layer: int16 sums
    (40, 3, True, 255),  # 3*3*40*255 > 2^15: int32 sums
    (1, 5, True, 255),
    (70, 3, False, 1),  # 70 channels: two words per pixel, the second partly used
    (64, 3, False, 1),
    (5, 5, False, 1),
])
def test_conv_kernels_equal_numpy(channels, k, integer, scale, padding, threads, n_out,
                                  kernel_thread_count) -> None:
    rng = np.random.default_rng(channels * 10 + k + n_out)
    n, h, width = 3, 8, 6
    if integer:
        x = rng.integers(-scale, scale + 1, (n, h, width, channels))
    else:
        x = rng.choice(np.array([-1, 1]), (n, h, width, channels))
    w = rng.choice(np.array([-1, 1]), (n_out, k, k, channels))
    spread = scale * np.sqrt(k * k * channels)
    threshold = np.round(rng.normal(0, spread / 2, n_out)).astype(np.int64)
    direction = rng.choice(np.array([-1, 1]), n_out)
    # channels whose bit never or always fires, and thresholds at the extreme sums
    reach = scale * k * k * channels
    threshold[:6] = [10**15, -10**15, reach + 1, -reach - 1, reach, -reach]
    if integer:
        operand_x, operand_w = x, w
    else:
        operand_x, operand_w = pack_bits(x > 0), pack_bits(w > 0)
    kernel_thread_count(threads)
    for pool in (False, True):
        bits, margins = _reference(x, w, threshold, direction, pool, padding)
        got = conv_bits(operand_x, operand_w, channels, threshold, direction, pool=pool,
                        integer=integer, padding=padding)
        np.testing.assert_array_equal(got, bits)
        limit = 50
        stored = np.zeros((n, 3 + margins[0].size), np.int16)
        got = conv_margins(operand_x, operand_w, channels, threshold, direction,
                           integer=integer, pool=pool, margins=stored, offset=3,
                           limit=limit, padding=padding)
        np.testing.assert_array_equal(got, bits)
        np.testing.assert_array_equal(stored[:, 3:], np.clip(margins, -limit, limit)
                                      .reshape(n, -1))
        assert not stored[:, :3].any()
        p = k // 2 if padding is None else padding
        if not integer:
            words = binary_conv_words(operand_x, operand_w, channels, threshold, direction,
                                      pool=pool, padding=p)
        elif fits_signed_tile(x, k):
            words = integer_conv_words(x, w, threshold, direction, pool=pool, padding=p)
        else:
            assert scale * k * k * channels >= 2**15 - 3
            with pytest.raises(SumsTooWide):
                integer_conv_words(x, w, threshold, direction, pool=pool, padding=p)
            continue
        np.testing.assert_array_equal(unpack_bits(words, n_out).astype(bool), bits)
        padding_bits = words[..., -1] >> np.uint64(n_out % 64) if n_out % 64 else 0
        assert not np.any(padding_bits), "bits past the last channel must stay 0"


@pytest.mark.parametrize("largest", [1213, 1214])  # 1213 * 27 = 32751 fits, 1214 does not
def test_first_layer_tile_exact_at_the_edge_of_16_bits(largest) -> None:
    """Sums near +-2^15 (where 2 P alone leaves int16) are exact; past the edge the packed
    kernel refuses and `conv_words` falls back on the 32-bit one."""
    from mrambnn.bits import pack_signs
    from mrambnn.engine.conv import Conv, conv_words
    from mrambnn.engine.layers import Threshold
    rng = np.random.default_rng(largest)
    n, k, c, n_out = 4, 3, 3, 48
    x = rng.choice(np.array([-largest, largest]), (n, 6, 6, c))
    w = rng.choice(np.array([-1, 1]), (n_out, k, k, c))
    w[:8] = np.sign(x[0, 2:5, 2:5])[None]  # filters that match a patch: sums of +-27 x
    reach = largest * k * k * c
    threshold = rng.integers(-reach, reach + 1, n_out)
    threshold[:4] = [reach, reach - largest, -reach, -reach + 1]
    direction = rng.choice(np.array([-1, 1]), n_out)
    direction[:4] = 1
    bits, _ = _reference(x, w, threshold, direction, pool=False)
    assert bits[0, 3, 3, 0]  # the matching filter reaches the whole reach
    layer = Conv(weight_words=pack_signs(w.reshape(n_out, -1)), in_shape=(6, 6, c),
                 filter_size=k, pool=False, integer_input=True,
                 head=Threshold(threshold=threshold, direction=direction))
    assert fits_signed_tile(x, k) == (reach <= 2**15 - 3)
    for maps in (x, x.astype(np.int16)):  # int16 maps are checked by the kernel itself
        np.testing.assert_array_equal(unpack_bits(conv_words(layer, maps), n_out)
                                      .astype(bool), bits)
        if reach > 2**15 - 3:
            with pytest.raises(SumsTooWide):
                integer_conv_words(maps, w, threshold, direction, pool=False, padding=1)

