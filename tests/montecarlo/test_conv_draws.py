"""Batched draws of convolutional networks equal full re-evaluation, prediction by
prediction (padding, pooling with both threshold directions, a dense tail)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrambnn.bits import pack_signs
from mrambnn.engine import Affine, Dense, PackedNet, Threshold, predict
from mrambnn.engine.conv import Conv
from mrambnn.experiments.deploy import corrupt_net
from mrambnn.memory import BitFlip
from mrambnn.models import load_model
from mrambnn.montecarlo import DrawEvaluator
from mrambnn.montecarlo.conv_draws import ConvDrawEvaluator, supports_conv
from mrambnn.montecarlo.general import GeneralEvaluator


def _threshold(rng: np.random.Generator, n_out: int, spread: float, limit: int) -> Threshold:
    """Thresholds near the pre-activations' spread, two far outside (constant bits)."""
    threshold = np.round(rng.normal(0, spread / 3, n_out)).astype(np.int64)
    threshold[:2] = [3 * limit, -5 * limit]
    return Threshold(threshold=threshold,
                     direction=rng.choice(np.array([-1, 1], np.int8), n_out))


def _random_conv_net(rng: np.random.Generator, first_filter_size: int = 3) -> PackedNet:
    """12x8x3 images -> k3 conv (5 ch, pool) -> k3 conv (70 ch) -> k5 conv (9 ch, pool)
    -> dense 20 -> 4 classes: odd channel counts, 70 > 64 bits per pixel, a wide filter
    on a 6x4 map (most offsets in the padding)."""
    shape, layers = (12, 8, 3), []
    for index, (n_out, k, pool) in enumerate([(5, first_filter_size, True), (70, 3, False),
                                              (9, 5, True)]):
        fan_in = k * k * shape[2]
        scale = 60 if index == 0 else 1
        layers.append(Conv(
            weight_words=pack_signs(rng.choice(np.array([-1, 1], np.int8), (n_out, fan_in))),
            in_shape=shape, filter_size=k, pool=pool, integer_input=index == 0,
            head=_threshold(rng, n_out, scale * np.sqrt(fan_in), scale * fan_in)))
        h, w, _ = shape
        shape = (h // 2, w // 2, n_out) if pool else (h, w, n_out)
    n_flat = int(np.prod(shape))
    for n_in, n_out in [(n_flat, 20), (20, 4)]:
        words = pack_signs(rng.choice(np.array([-1, 1], np.int8), (n_out, n_in)))
        head = (Affine(scale=rng.uniform(0.5, 2.0, n_out), offset=rng.normal(0, 3, n_out))
                if n_out == 4 else _threshold(rng, n_out, np.sqrt(n_in), n_in))
        layers.append(Dense(weight_words=words, in_features=n_in, integer_input=False,
                            head=head))
    return PackedNet(layers=tuple(layers), input_shape=(12, 8, 3), input_offset=128)


def _valid_conv_net(rng: np.random.Generator) -> PackedNet:
    """14x10x3 images coded by a fixed-point table -> k3 'valid' conv (5 ch, pool) -> k3
    'valid' conv (70 ch) -> k3 padding-1 conv (9 ch, pool) -> dense 20 -> 4 classes."""
    shape, layers = (14, 10, 3), []
    for index, (n_out, pad, pool) in enumerate([(5, 0, True), (70, 0, False), (9, 1, True)]):
        fan_in = 9 * shape[2]
        scale = 120 if index == 0 else 1
        conv = Conv(
            weight_words=pack_signs(rng.choice(np.array([-1, 1], np.int8), (n_out, fan_in))),
            in_shape=shape, filter_size=3, pool=pool, integer_input=index == 0,
            head=_threshold(rng, n_out, scale * np.sqrt(fan_in), scale * fan_in),
            padding=pad)
        layers.append(conv)
        shape = conv.out_shape
    assert shape == (2, 1, 9)
    for n_in, n_out in [(18, 20), (20, 4)]:
        words = pack_signs(rng.choice(np.array([-1, 1], np.int8), (n_out, n_in)))
        head = (Affine(scale=rng.uniform(0.5, 2.0, n_out), offset=rng.normal(0, 3, n_out))
                if n_out == 4 else _threshold(rng, n_out, np.sqrt(n_in), n_in))
        layers.append(Dense(weight_words=words, in_features=n_in, integer_input=False,
                            head=head))
    pixels = np.arange(256)
    levels = np.stack([np.clip((512 * pixels - 65025) // 510, -128, 127),  # Q1.7 of [-1, 1]
                       pixels - 100, 2 * (pixels >= 128) - 1])
    return PackedNet(layers=tuple(layers), input_shape=(14, 10, 3), input_levels=levels)


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize(("seed", "valid"), [(0, False), (1, False), (2, False), (3, True),
                                             (4, True)])
def test_conv_draws_equal_full_reevaluation(seed, valid, threads, kernel_thread_count):
    rng = np.random.default_rng(seed)
    net = _valid_conv_net(rng) if valid else _random_conv_net(rng)
    images = rng.integers(0, 256, (90, *net.input_shape), dtype=np.uint8)
    evaluator = ConvDrawEvaluator(net, images, chunk=32)  # several chunks, a short last one
    unpruned = ConvDrawEvaluator(net, images, chunk=32, prune=False)
    np.testing.assert_array_equal(evaluator.clean_predictions, predict(net, images))
    kernel_thread_count(threads)
    for ber in (1e-3, 2e-2, 0.2):
        nets = [corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([seed, d]))
                for d in range(3)]
        together = evaluator.predict_draws([f.weight_words for f in nets])
        assert together.shape == (3, len(images))
        np.testing.assert_array_equal(
            unpruned.predict_draws([f.weight_words for f in nets]), together)
        for d, faulty in enumerate(nets):
            np.testing.assert_array_equal(together[d], predict(faulty, images),
                                          err_msg=f"BER {ber}, draw {d}")


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), valid=st.booleans(),
       ber=st.sampled_from([1e-3, 1e-2, 5e-2]))
def test_pruning_never_changes_a_prediction(seed, valid, ber, pruned_unpruned_full_agree):
    """Random small conv networks: pruned, unpruned and full evaluation agree."""
    rng = np.random.default_rng(seed)
    net = _valid_conv_net(rng) if valid else _random_conv_net(rng)
    images = rng.integers(0, 256, (20, *net.input_shape), dtype=np.uint8)
    nets = [corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([seed, d]))
            for d in range(3)]
    pruned_unpruned_full_agree(ConvDrawEvaluator, net, images, nets)


@pytest.mark.parametrize("valid", [False, True])
def test_single_flips_in_every_layer(valid):
    """One flipped weight at a time, in each layer and at filter corners (padding)."""
    rng = np.random.default_rng(7)
    net = _valid_conv_net(rng) if valid else _random_conv_net(rng)
    images = rng.integers(0, 256, (40, *net.input_shape), dtype=np.uint8)
    evaluator = ConvDrawEvaluator(net, images)
    draws = []
    for index, layer in enumerate(net.layers):
        for bit in (0, layer.in_features - 1):
            for out in (0, layer.out_features - 1):
                words = [w.copy() for w in net.weight_words]
                words[index][out, bit // 64] ^= np.uint64(1) << np.uint64(bit % 64)
                draws.append(words)
    together = evaluator.predict_draws(draws)
    for d, words in enumerate(draws):
        np.testing.assert_array_equal(together[d],
                                      predict(net.with_weight_words(words), images))


@pytest.mark.parametrize("name", ["fashion-conv", "cifar-vgg", "tiny-vgg"])
def test_shipped_conv_networks_pruned_unpruned_and_full_agree(name,
                                                              pruned_unpruned_full_agree):
    """Every shipped conv network, two seeds, BERs 1e-4 to 1e-2: pruned and unpruned
    incremental evaluation and full re-evaluation, draw by draw."""
    net = load_model(name)
    images = np.random.default_rng(3).integers(0, 256, (12, *net.input_shape),
                                               dtype=np.uint8)
    for seed in (9, 10):
        nets = [corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([d, seed]))
                for d, ber in enumerate([1e-4, 1e-3, 1e-3, 1e-2])]
        pruned_unpruned_full_agree(ConvDrawEvaluator, net, images, nets, f"seed {seed}")


def test_valid_padding_on_the_general_path():
    rng = np.random.default_rng(12)
    net = _valid_conv_net(rng)
    images = rng.integers(0, 256, (30, 14, 10, 3), dtype=np.uint8)
    evaluator = GeneralEvaluator(net, images)
    for d in range(3):
        faulty = corrupt_net(net, BitFlip(ber=3e-2), rng=np.random.default_rng([d, 5]))
        np.testing.assert_array_equal(evaluator.predict_draws([faulty.weight_words])[0],
                                      predict(faulty, images))


def test_general_path_when_only_dense_layers_after_convolutions_change():
    """No conv output changes, many flips per dense output: the dense layer is recomputed
    in full from the (empty) changes the convolutions hand it."""
    rng = np.random.default_rng(13)
    net = _valid_conv_net(rng)
    images = rng.integers(0, 256, (30, 14, 10, 3), dtype=np.uint8)
    evaluator = GeneralEvaluator(net, images)
    for d in range(3):
        faulty = corrupt_net(net, BitFlip(ber=0.6), layers=[3, 4],
                             rng=np.random.default_rng([d, 6]))
        np.testing.assert_array_equal(evaluator.predict_draws([faulty.weight_words])[0],
                                      predict(faulty, images))


def test_wide_first_layer_uses_the_general_path():
    """7x7x3 integer patches can move a margin past int16: the general path takes it."""
    rng = np.random.default_rng(11)
    net = _random_conv_net(rng, first_filter_size=7)
    assert not supports_conv(net)
    with pytest.raises(ValueError, match="fan-in"):
        ConvDrawEvaluator(net, np.zeros((2, 12, 8, 3), np.uint8))
    images = rng.integers(0, 256, (30, 12, 8, 3), dtype=np.uint8)
    evaluator = DrawEvaluator(net, images)
    assert not evaluator.batched
    faulty = corrupt_net(net, BitFlip(ber=1e-2), rng=np.random.default_rng(1))
    np.testing.assert_array_equal(evaluator.predict(faulty.weight_words, path="incremental"),
                                  predict(faulty, images))


def test_bad_draws_are_errors():
    net = load_model("fashion-conv")
    evaluator = ConvDrawEvaluator(net, np.zeros((3, 28, 28, 1), np.uint8))
    assert evaluator.predict_draws([]).shape == (0, 3)
    with pytest.raises(ValueError, match="weight arrays"):
        evaluator.predict_draws([net.weight_words[:-1]])
    with pytest.raises(ValueError, match="shape"):
        evaluator.predict_draws([[w[:1] for w in net.weight_words]])
    with pytest.raises(ValueError, match="chunk"):
        ConvDrawEvaluator(net, np.zeros((3, 28, 28, 1), np.uint8), chunk=0)
