"""Incremental evaluation equals full re-evaluation, prediction by prediction."""

import numpy as np
import pytest

from mrambnn.datasets import load_dataset
from mrambnn.engine import predict
from mrambnn.experiments.deploy import corrupt_net
from mrambnn.memory import BitFlip
from mrambnn.models import load_model
from mrambnn.montecarlo import DrawEvaluator


@pytest.mark.parametrize(("model", "n_images"), [("mnist-mlp", 1500), ("fashion-conv", 300)])
def test_incremental_equals_full_reevaluation(model, n_images):
    net = load_model(model)
    images = load_dataset(net.metadata["dataset"]).x_test[:n_images]
    evaluator = DrawEvaluator(net, images)
    np.testing.assert_array_equal(evaluator.predict(net.weight_words), predict(net, images))
    for seed in (1, 2):
        for ber in (1e-5, 1e-4, 1e-3, 1.9e-3, 1e-2, 1e-1):
            faulty = corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([seed, 7]))
            full = predict(faulty, images)
            for path in ("incremental", "auto"):
                np.testing.assert_array_equal(evaluator.predict(faulty.weight_words, path=path),
                                              full, err_msg=f"{ber} {seed} {path}")


def test_wrong_number_of_layers_is_an_error():
    net = load_model("mnist-mlp")
    evaluator = DrawEvaluator(net, load_dataset("mnist").x_test[:10])
    with pytest.raises(ValueError, match="weight arrays"):
        evaluator.predict(net.weight_words[:-1])
    with pytest.raises(ValueError, match="auto, incremental, full"):
        evaluator.predict(net.weight_words, path="gpu")


@pytest.mark.parametrize("model", ["mnist-mlp", "fashion-conv"])
def test_dense_change_paths_are_exact_too(model):
    """Force the incremental path at high error rates (no whole-draw fallback), where the
    per-layer fallbacks (full layer, XNOR-popcount rows) take over."""
    net = load_model(model)
    images = load_dataset(net.metadata["dataset"]).x_test[:200]
    evaluator = DrawEvaluator(net, images)
    for ber in (1e-2, 5e-2):
        faulty = corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([3, 9]))
        np.testing.assert_array_equal(evaluator.predict(faulty.weight_words, path="incremental"),
                                      predict(faulty, images), err_msg=str(ber))
