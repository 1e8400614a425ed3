"""The first layer's output reused across draws equals a full re-evaluation, bit for bit."""

import numpy as np
import pytest

import mrambnn.engine.first_layer as first_layer
from mrambnn.bits import pack_signs
from mrambnn.datasets import load_dataset
from mrambnn.engine import (
    Affine,
    Dense,
    FirstLayerReuse,
    PackedNet,
    forward,
    predict,
    predict_draws,
)
from mrambnn.experiments.deploy import corrupt_net
from mrambnn.memory import BitFlip
from mrambnn.models import load_model


@pytest.mark.parametrize(("model", "n_images"), [("mnist-mlp", 300), ("fashion-conv", 200),
                                                 ("cifar-vgg", 60)])
def test_scores_equal_forward_under_every_draw(model, n_images):
    net = load_model(model)
    images = load_dataset(net.metadata["dataset"]).x_test[:n_images]
    reuse = FirstLayerReuse(net, images)
    np.testing.assert_array_equal(reuse.scores(net.weight_words), forward(net, images)[0])
    changed_rows = []
    for seed, ber in [(1, 1e-4), (2, 1e-3), (3, 1e-2), (4, 1e-1)]:
        faulty = corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([seed, 5]))
        first = faulty.weight_words[0]
        changed_rows.append(int(np.any(first != net.weight_words[0], axis=1).sum()))
        np.testing.assert_array_equal(reuse.scores(faulty.weight_words),
                                      forward(faulty, images)[0], err_msg=f"{ber}")
        np.testing.assert_array_equal(reuse.first_output(first),
                                      forward(faulty, images, keep_hidden=True)[1][0])
    # the draws exercised a partial redo of the first layer, and more rows as BER grows
    assert any(0 < c < len(net.weight_words[0]) for c in changed_rows)
    assert changed_rows[-1] > changed_rows[0]


def test_only_the_last_layers_changed_reuses_the_clean_first_layer():
    net = load_model("fashion-conv")
    images = load_dataset("fashion-mnist").x_test[:50]
    reuse = FirstLayerReuse(net, images)
    words = list(net.weight_words)
    words[-1] = words[-1] ^ np.uint64(0b1011)
    assert reuse.first_output(words[0]) is reuse.clean
    np.testing.assert_array_equal(reuse.scores(words),
                                  forward(net.with_weight_words(words), images)[0])


def test_predict_draws_in_batches_equals_predict(make_toy):
    net, images, _ = make_toy(32, 230)
    draws = [corrupt_net(net, BitFlip(ber=b), rng=np.random.default_rng([9, i])).weight_words
             for i, b in enumerate((0.0, 1e-2, 0.2))]
    expected = np.stack([predict(net.with_weight_words(w), images) for w in draws])
    np.testing.assert_array_equal(predict_draws(net, images, draws, batch_size=100), expected)


def test_a_one_layer_network_is_evaluated_whole(make_toy):
    net, images, _ = make_toy(32, 40)
    rng = np.random.default_rng(4)
    single = PackedNet(layers=(Dense(
        weight_words=pack_signs(rng.choice(np.array([-1, 1], np.int8), (4, 49))),
        in_features=49, integer_input=True,
        head=Affine(scale=np.ones(4), offset=np.zeros(4))),), input_shape=(7, 7, 1))
    words = [single.weight_words[0] ^ np.uint64(1)]
    np.testing.assert_array_equal(FirstLayerReuse(single, images).scores(words),
                                  forward(single.with_weight_words(words), images)[0])


@pytest.mark.parametrize(("limit", "rows"), [(1, 64), (32000, 10**6), (32000, 0)])
def test_every_way_of_redoing_the_first_layer_is_exact(monkeypatch, limit, rows):
    """Each changed filter redone by the kernel (a clip too small for any margin update),
    every changed filter by margin updates, or always the whole layer."""
    monkeypatch.setattr(first_layer, "MARGIN_LIMIT", limit)
    monkeypatch.setattr(first_layer, "MARGIN_ROWS", rows)
    net = load_model("fashion-conv")
    images = load_dataset("fashion-mnist").x_test[:40]
    for seed, ber in [(5, 3e-3), (6, 3e-2)]:
        faulty = corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([seed, 1]))
        # a fresh instance: its first draw redoes the rows whatever the timings say
        reuse = FirstLayerReuse(net, images)
        np.testing.assert_array_equal(reuse.scores(faulty.weight_words),
                                      forward(faulty, images)[0], err_msg=f"{ber}")
