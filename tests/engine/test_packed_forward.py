"""`forward`, whose layers pass packed bits to each other, equals a layer-by-layer pass on
bool maps with the bool kernels (`conv_bits`, `dense_preactivation`), on random small
networks: any channel count (words partly used, maps flattened into dense layers whose
inputs do not fill whole words), filter size, padding, pooling and sign of the scale."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from mrambnn.bits import pack_bits, pack_signs
from mrambnn.engine import Affine, Conv, Dense, PackedNet, Threshold, forward
from mrambnn.engine.conv import filter_operand
from mrambnn.engine.kernels import conv_bits
from mrambnn.engine.ops import dense_preactivation


def _bool_pass(net: PackedNet, images: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    activation = net.first_input(images)
    hidden = []
    for layer in net.layers[:-1]:
        head = layer.head
        if isinstance(layer, Conv):
            x = activation if layer.integer_input else pack_bits(activation)
            activation = conv_bits(x, filter_operand(layer), layer.in_shape[2],
                                   head.threshold, head.direction, pool=layer.pool,
                                   integer=layer.integer_input, padding=layer.padding)
        else:
            activation = head.apply(dense_preactivation(
                layer, activation.reshape(len(activation), -1)))
        hidden.append(activation)
    last = net.layers[-1]
    flat = activation.reshape(len(activation), -1)
    return last.head.apply(dense_preactivation(last, flat)), hidden


def _random_net(rng: np.random.Generator, size: int, channels: list[int], k: int,
                padding: int, hidden: int) -> PackedNet:
    layers: list = []
    shape = (size, size, 3)
    for i, out in enumerate(channels):
        layer_padding = padding if shape[0] - k + 1 >= 1 else k // 2  # 'valid' must fit
        conv_size = shape[0] + 2 * layer_padding - k + 1
        pool = conv_size % 2 == 0 and conv_size >= 4 and i % 2 == 0
        n_in = k * k * shape[2]
        weights = rng.choice(np.array([-1, 1]), (out, n_in))
        reach = n_in * (128 if i == 0 else 1)
        layers.append(Conv(
            weight_words=pack_signs(weights), in_shape=shape, filter_size=k, pool=pool,
            integer_input=i == 0, padding=layer_padding,
            head=Threshold(threshold=rng.integers(-reach // 4, reach // 4 + 1, out),
                           direction=rng.choice(np.array([-1, 1]), out))))
        shape = layers[-1].out_shape
    n_in = int(np.prod(shape))
    for out, last in ((hidden, False), (7, True)):
        weights = pack_signs(rng.choice(np.array([-1, 1]), (out, n_in)))
        head = (Affine(scale=rng.normal(1, 0.1, out), offset=rng.normal(0, 1, out)) if last
                else Threshold(threshold=rng.integers(-3, 4, out),
                               direction=rng.choice(np.array([-1, 1]), out)))
        layers.append(Dense(weight_words=weights, in_features=n_in, integer_input=False,
                            head=head))
        n_in = out
    return PackedNet(layers=tuple(layers), input_shape=(size, size, 3), input_offset=128)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), size=st.sampled_from([5, 6, 8]),
       channels=st.lists(st.sampled_from([1, 16, 40, 64, 70, 130]), min_size=1, max_size=3),
       k=st.sampled_from([1, 3, 5]), padding_kind=st.sampled_from(["same", "valid"]),
       hidden=st.sampled_from([10, 64, 100]))
def test_packed_forward_equals_bool_pass(seed, size, channels, k, padding_kind, hidden):
    rng = np.random.default_rng(seed)
    padding = k // 2 if padding_kind == "same" else 0
    net = _random_net(rng, size, channels, k, padding, hidden)
    images = rng.integers(0, 256, (5, size, size, 3), dtype=np.uint8)
    scores, hidden_bits = forward(net, images, keep_hidden=True)
    expected, expected_hidden = _bool_pass(net, images)
    np.testing.assert_array_equal(scores, expected)
    for got, want in zip(hidden_bits, expected_hidden, strict=True):
        np.testing.assert_array_equal(got, want)
