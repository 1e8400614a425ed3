"""The graph engine's operations against plain NumPy definitions: strided, padded
convolutions of every input kind, pooling, shortcuts, faults, and bad graphs."""

import numpy as np
import pytest

from mrambnn.bits import pack_signs, unpack_signs
from mrambnn.engine.graph import GraphNet, graph_forward
from mrambnn.engine.graph_nodes import (
    Add,
    AvgPool,
    BatchNorm,
    BinaryWeights,
    Conv2d,
    Flatten,
    GlobalAvgPool,
    Linear,
    MaxPool,
    RealWeights,
    Sign,
)
from mrambnn.engine.graph_ops import convolve, max_pool


def _naive_conv(x: np.ndarray, w: np.ndarray, k: int, stride: int, padding: int
                ) -> np.ndarray:
    """x (N, H, W, C) values, w (O, k, k, C): the textbook zero-padded convolution."""
    n, h, width, c = x.shape
    xp = np.zeros((n, h + 2 * padding, width + 2 * padding, c), np.float64)
    xp[:, padding:padding + h, padding:padding + width] = x
    out_h, out_w = (h + 2 * padding - k) // stride + 1, (width + 2 * padding - k) // stride + 1
    out = np.zeros((n, out_h, out_w, len(w)))
    for y in range(out_h):
        for xx in range(out_w):
            patch = xp[:, y * stride:y * stride + k, xx * stride:xx * stride + k]
            out[:, y, xx] = np.einsum("nijc,oijc->no", patch, w)
    return out


@pytest.mark.parametrize(("k", "stride", "padding", "channels"),
                         [(3, 1, 1, 5), (5, 2, 2, 70), (11, 4, 2, 3), (1, 1, 0, 130),
                          (3, 2, 0, 64), (7, 2, 3, 9)])
def test_binary_convolution_on_bits_is_exact(k: int, stride: int, padding: int,
                                             channels: int) -> None:
    rng = np.random.default_rng(k * 100 + stride * 10 + padding)
    bits = rng.random((3, 23, 19, channels)) < 0.5
    signs = np.where(rng.random((6, k, k, channels)) < 0.5, 1, -1)
    weights = BinaryWeights(words=pack_signs(signs.reshape(6, -1)), fan_in=k * k * channels)
    got = convolve(bits, weights, "bits", k, stride, padding)
    assert got.dtype.kind == "i"
    np.testing.assert_array_equal(got, _naive_conv(bits * 2.0 - 1, signs, k, stride, padding))


@pytest.mark.parametrize("largest", [127, 30000])
def test_binary_convolution_on_integers_is_exact(largest: int) -> None:
    rng = np.random.default_rng(largest)
    x = rng.integers(-largest, largest + 1, (2, 30, 30, 3))
    signs = np.where(rng.random((4, 11, 11, 3)) < 0.5, 1, -1)
    weights = BinaryWeights(words=pack_signs(signs.reshape(4, -1)), fan_in=363)
    got = convolve(x, weights, "integer", 11, 4, 2)
    np.testing.assert_array_equal(got, _naive_conv(x, signs, 11, 4, 2).astype(np.int64))


def test_real_convolution_matches_definition() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(2, 9, 9, 4))
    w = rng.normal(size=(3, 3, 3, 4))
    got = convolve(x, RealWeights(values=w.reshape(3, -1)), "real", 3, 2, 1)
    np.testing.assert_allclose(got, _naive_conv(x, w, 3, 2, 1), rtol=1e-12)


def test_max_pool_padding_never_wins() -> None:
    x = -np.arange(1, 26, dtype=np.int64).reshape(1, 5, 5, 1)
    got = max_pool(x, 3, 2, 1)
    assert got.shape == (1, 3, 3, 1)
    assert got[0, 0, 0, 0] == -1 and got[0, 2, 2, 0] == -19
    bits = np.zeros((1, 4, 4, 1), bool)
    assert not max_pool(bits, 3, 2, 1).any()


def _tiny_residual(rng: np.random.Generator) -> GraphNet:
    def binary(rows: int, fan_in: int) -> BinaryWeights:
        return BinaryWeights(words=pack_signs(np.where(rng.random((rows, fan_in)) < .5, 1, -1)),
                             fan_in=fan_in)

    def bn(name: str, source: str, c: int) -> BatchNorm:
        return BatchNorm(name=name, inputs=(source,), mean=rng.normal(0, 3, c),
                         var=rng.uniform(1, 9, c), gamma=rng.normal(size=c),
                         beta=rng.normal(size=c))
    nodes = (Conv2d(name="stem", inputs=("input",), weights=binary(8, 27), kernel=3,
                    stride=2, padding=1),
             bn("stem_bn", "stem", 8),
             Sign(name="s1", inputs=("stem_bn",)),
             Conv2d(name="c1", inputs=("s1",), weights=binary(8, 72), kernel=3, padding=1),
             bn("c1_bn", "c1", 8),
             Add(name="sum", inputs=("c1_bn", "stem_bn")),
             MaxPool(name="pool", inputs=("sum",), kernel=3, stride=2, padding=1),
             AvgPool(name="avg", inputs=("pool",), kernel=2, stride=2),
             GlobalAvgPool(name="gap", inputs=("avg",)),
             Sign(name="s2", inputs=("gap",)),
             Flatten(name="flat", inputs=("s2",)),
             Linear(name="fc", inputs=("flat",), weights=binary(5, 8)),
             bn("scores", "fc", 5))
    return GraphNet(nodes=nodes, input_shape=(16, 16, 3),
                    input_levels=np.tile(np.arange(256) - 128, (3, 1)).astype(np.int16))


def test_residual_graph_against_step_by_step_numpy() -> None:
    rng = np.random.default_rng(11)
    net = _tiny_residual(rng)
    images = rng.integers(0, 256, (4, 16, 16, 3), dtype=np.uint8)
    scores, hidden = graph_forward(net, images, keep_hidden=True)
    nodes = {node.name: node for node in net.nodes}

    def signs(name: str, shape: tuple[int, ...]) -> np.ndarray:
        w = nodes[name].weights
        return unpack_signs(w.words, w.fan_in).reshape(shape).astype(np.float64)

    def norm(name: str, x: np.ndarray) -> np.ndarray:
        b = nodes[name]
        return (x - b.mean) / np.sqrt(b.var + b.eps) * b.gamma + b.beta
    x = images.astype(np.float64) - 128
    stem = norm("stem_bn", _naive_conv(x, signs("stem", (8, 3, 3, 3)), 3, 2, 1))
    s1 = stem >= 0
    np.testing.assert_array_equal(hidden["s1"], s1)
    block = norm("c1_bn", _naive_conv(s1 * 2.0 - 1, signs("c1", (8, 3, 3, 8)), 3, 1, 1))
    total = block + stem  # (4, 8, 8, 8)
    padded = np.full((4, 10, 10, 8), -np.inf)
    padded[:, 1:9, 1:9] = total
    pooled = np.stack([np.stack([padded[:, 2 * i:2 * i + 3, 2 * j:2 * j + 3].max(axis=(1, 2))
                                 for j in range(4)], 1) for i in range(4)], 1)
    averaged = pooled.reshape(4, 2, 2, 2, 2, 8).mean(axis=(2, 4))
    gap = averaged.mean(axis=(1, 2)) >= 0
    np.testing.assert_array_equal(hidden["s2"], gap)
    expected = norm("scores", (gap * 2.0 - 1) @ signs("fc", (5, 8)).T)
    np.testing.assert_allclose(scores, expected, rtol=1e-12, atol=1e-12)


def test_faults_replace_the_binary_weights_only() -> None:
    net = _tiny_residual(np.random.default_rng(2))
    assert [w.shape for w in net.weight_words] == [(8, 1), (8, 2), (5, 1)]
    assert net.n_weights == 8 * 27 + 8 * 72 + 5 * 8
    inverted = net.with_weight_words([~w for w in net.weight_words])
    images = np.random.default_rng(3).integers(0, 256, (2, 16, 16, 3), dtype=np.uint8)
    assert not np.array_equal(graph_forward(inverted, images)[0],
                              graph_forward(net, images)[0])
    with pytest.raises(ValueError, match="expected 3 weight arrays"):
        net.with_weight_words(net.weight_words[:2])


def test_bad_graphs_are_refused_in_one_line() -> None:
    net = _tiny_residual(np.random.default_rng(4))
    levels = net.input_levels
    broken = (net.nodes[0], Add(name="bad", inputs=("stem", "nowhere")))
    with pytest.raises(ValueError, match="reads 'nowhere'"):
        GraphNet(nodes=broken, input_shape=(16, 16, 3), input_levels=levels)
    with pytest.raises(ValueError, match="stem: weights for 3 channels, input has 5"):
        GraphNet(nodes=net.nodes, input_shape=(16, 16, 5),
                 input_levels=np.zeros((5, 256), np.int16))
    with pytest.raises(ValueError, match="must give flat"):
        GraphNet(nodes=net.nodes[:3], input_shape=(16, 16, 3), input_levels=levels)
    with pytest.raises(ValueError, match="images must be uint8"):
        graph_forward(net, np.zeros((1, 16, 16, 3), np.float32))


def test_graph_file_round_trip_and_refusals(tmp_path) -> None:
    from mrambnn.engine.graph_serialize import load_graph_net, load_network, save_graph_net
    from mrambnn.engine.serialize import ModelFileError, save_packed_net

    net = _tiny_residual(np.random.default_rng(6))
    net.metadata["architecture"] = "tiny residual"
    path = tmp_path / "g.npz"
    save_graph_net(net, path)
    back = load_network(path)
    assert isinstance(back, GraphNet) and back.metadata == net.metadata
    assert back.content_sha256() == net.content_sha256()
    images = np.random.default_rng(1).integers(0, 256, (3, 16, 16, 3), dtype=np.uint8)
    np.testing.assert_array_equal(graph_forward(back, images)[0], graph_forward(net, images)[0])
    bad = tmp_path / "bad.npz"
    bad.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ModelFileError, match="bad.npz"):
        load_graph_net(bad)
    from mrambnn.models import load_model
    chain = tmp_path / "chain.npz"
    save_packed_net(load_model("mnist-mlp"), chain)
    assert type(load_network(chain)).__name__ == "PackedNet"
    with pytest.raises(ModelFileError, match="not a mrambnn graph network"):
        load_graph_net(chain)
