"""`build_packed_net` equals a plain float64 forward pass of the same arrays (BatchNorm,
bias, input scale, 'valid' and 'same' padding, both pooling orders, torch flattening), and
refuses what does not fit with one line naming the layer."""

from fractions import Fraction

import numpy as np
import pytest

from mrambnn.engine import Affine, Threshold, forward
from mrambnn.engine.builder import BatchNormSpec, ConvSpec, DenseSpec, build_packed_net


def _batchnorm(rng: np.random.Generator, n: int, centre: float, spread: float
               ) -> BatchNormSpec:
    gamma = rng.normal(0, 1, n)
    gamma[0] = 0.0  # a constant bit
    return BatchNormSpec(mean=rng.normal(centre, spread / 3, n),
                         variance=rng.uniform(0.5, 2, n) * spread**2, gamma=gamma,
                         beta=rng.normal(0, 0.3, n), eps=1e-5)


def _bn(x: np.ndarray, spec: BatchNormSpec) -> np.ndarray:
    return spec.gamma * (x - spec.mean) / np.sqrt(spec.variance + spec.eps) + spec.beta


def _conv(x: np.ndarray, w: np.ndarray, padding: int) -> np.ndarray:
    """x (N, H, W, C) float, w (out, C, k, k): cross-correlation, zero padding."""
    k = w.shape[2]
    x = np.pad(x, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
    h, width = x.shape[1] - k + 1, x.shape[2] - k + 1
    out = np.zeros((len(x), h, width, len(w)))
    for ky in range(k):
        for kx in range(k):
            out += np.einsum("nyxc,oc->nyxo", x[:, ky:ky + h, kx:kx + width], w[:, :, ky, kx])
    return out


def _pool(x: np.ndarray) -> np.ndarray:
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def _sign(x: np.ndarray) -> np.ndarray:
    return np.where(x >= 0, 1.0, -1.0)


def test_builder_equals_float_reference() -> None:
    rng = np.random.default_rng(0)
    pixels = np.arange(256)
    levels = np.stack([np.clip((512 * pixels - 65025) // 510, -128, 127), pixels - 128])
    scale = Fraction(1, 128)
    w0 = rng.choice([-1.0, 1.0], (6, 2, 3, 3))
    w1 = rng.choice([-1.0, 1.0], (7, 6, 3, 3))
    w2 = rng.choice([-1.0, 1.0], (12, 7 * 2 * 1))
    w3 = rng.choice([-1.0, 1.0], (4, 12))
    bn0, bn1 = _batchnorm(rng, 6, 0, 8), _batchnorm(rng, 7, 0, 8)
    bn2, bn3 = _batchnorm(rng, 12, 0, 4), _batchnorm(rng, 4, 0, 4)
    bn3.gamma[0] = 0.7
    bias0, bias3 = rng.normal(0, 1, 6), rng.normal(0, 1, 4)
    specs = [ConvSpec(weights=w0, padding=0, pool="preactivation", head=bn0, bias=bias0),
             ConvSpec(weights=w1, padding=1, pool="bits", head=bn1),
             DenseSpec(weights=w2, input_order="chw", head=bn2),
             DenseSpec(weights=w3, head=bn3, bias=bias3)]
    net = build_packed_net(specs, input_shape=(10, 6, 2), input_levels=levels,
                           input_scale=scale)
    images = rng.integers(0, 256, (300, 10, 6, 2), dtype=np.uint8)
    # float64 reference, torch's order and layouts
    x = levels[np.arange(2), images] / 128.0
    h0 = _sign(_bn(_pool(_conv(x, w0, 0) + bias0), bn0))
    h1 = _pool(_sign(_bn(_conv(h0, w1, 1), bn1)))
    h2 = _sign(_bn(h1.transpose(0, 3, 1, 2).reshape(len(x), -1) @ w2.T, bn2))
    scores = _bn(h2 @ w3.T + bias3, bn3)
    got, hidden = forward(net, images, keep_hidden=True)
    np.testing.assert_allclose(got, scores, rtol=1e-9, atol=1e-9)
    for mine, reference in zip(hidden, (h0, h1, h2), strict=True):
        np.testing.assert_array_equal(mine, reference > 0)


def test_builder_takes_integer_heads_and_hwc_layouts() -> None:
    rng = np.random.default_rng(1)
    w0 = rng.choice(np.array([-1, 1], np.int8), (3, 3, 3, 1))
    w1 = rng.choice(np.array([-1, 1], np.int8), (2, 3 * 4 * 4))
    threshold = Threshold(threshold=np.array([5, -3, 0]), direction=np.array([1, -1, 1], np.int8))
    scores = Affine(scale=np.array([0.5, 0.5]), offset=np.array([24.0, 24.0]))
    net = build_packed_net([ConvSpec(weights=w0, padding=1, head=threshold, layout="ohwi"),
                            DenseSpec(weights=w1, head=scores)], input_shape=(4, 4, 1))
    images = rng.integers(0, 256, (20, 4, 4, 1), dtype=np.uint8)
    x = images.astype(np.float64)
    a = _conv(x, w0.transpose(0, 3, 1, 2).astype(np.float64), 1)
    bits = threshold.direction * a >= threshold.threshold
    expected = (np.where(bits, 1, -1).reshape(20, -1) @ w1.T.astype(np.float64)) * 0.5 + 24
    np.testing.assert_array_equal(forward(net, images)[0], expected)


@pytest.mark.parametrize(("specs", "message"), [
    ([DenseSpec(weights=np.array([[1, 0.5]]))], "layer 0: weights must be"),
    ([DenseSpec(weights=np.ones((3, 25))), DenseSpec(weights=np.ones((2, 4)))],
     "layer 1: takes 4 inputs, the previous layer gives 3"),
    ([ConvSpec(weights=np.ones((2, 1, 2, 2)), padding=0), DenseSpec(weights=np.ones((2, 8)))],
     "layer 0: only odd square filters"),
    ([ConvSpec(weights=np.ones((2, 1, 3, 3)), padding=0, pool="bits"),
      DenseSpec(weights=np.ones((2, 8)))], "layer 0: cannot 2x2-pool a (3, 3) map"),
    ([DenseSpec(weights=np.ones((3, 25))), ConvSpec(weights=np.ones((2, 1, 3, 3)), padding=1),
      DenseSpec(weights=np.ones((2, 2)))], "layer 1: a convolution after a dense layer"),
    ([ConvSpec(weights=np.ones((2, 1, 3, 3)), padding=2), DenseSpec(weights=np.ones((2, 8)))],
     "layer 0: padding must be in 0..1"),
    ([DenseSpec(weights=np.ones((3, 25)), head=Affine(scale=np.ones(3), offset=np.ones(3))),
      DenseSpec(weights=np.ones((2, 3)))], "layer 0: an Affine head is for the output"),
])
def test_what_does_not_fit_is_one_line_naming_the_layer(specs, message) -> None:
    with pytest.raises(ValueError) as error:
        build_packed_net(specs, input_shape=(5, 5, 1))
    assert message in str(error.value) and "\n" not in str(error.value)
