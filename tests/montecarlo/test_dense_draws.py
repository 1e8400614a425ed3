"""Batched draws of all-dense networks equal full re-evaluation, prediction by prediction,
with and without pruning."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrambnn.bits import pack_signs
from mrambnn.engine import Affine, Dense, PackedNet, Threshold, predict
from mrambnn.experiments.deploy import corrupt_net
from mrambnn.memory import BitFlip
from mrambnn.models import load_model
from mrambnn.montecarlo.dense_draws import DenseDrawEvaluator, supports
from mrambnn.montecarlo.output_slack import slack_table


def _random_net(rng: np.random.Generator, widths: tuple[int, ...], *, integer: bool,
                n_classes: int = 5, flat_scores: bool = False) -> PackedNet:
    """Random +-1 weights; thresholds near the pre-activations' spread, some far outside
    (constant neurons), mixed directions; ``flat_scores``: unit scale, so class scores
    tie often (argmax takes the first)."""
    layers = []
    sizes = (*widths, n_classes)
    for index, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        words = pack_signs(rng.choice(np.array([-1, 1], np.int8), (n_out, n_in)))
        is_integer = integer and index == 0
        if index == len(sizes) - 2:
            scale = np.ones(n_out) if flat_scores else rng.uniform(0.5, 2.0, n_out)
            head = Affine(scale=scale, offset=np.zeros(n_out) if flat_scores
                          else rng.normal(0, 3, n_out))
        else:
            spread = (60 if is_integer else 1) * np.sqrt(n_in)
            threshold = np.round(rng.normal(0, spread / 3, n_out)).astype(np.int64)
            threshold[:2] = [3 * n_in * (60 if is_integer else 1), -5 * n_in]  # constant
            head = Threshold(threshold=threshold,
                             direction=rng.choice(np.array([-1, 1], np.int8), n_out))
        layers.append(Dense(weight_words=words, in_features=n_in, integer_input=is_integer,
                            head=head))
    return PackedNet(layers=tuple(layers), input_shape=(widths[0], 1, 1), input_offset=128)


@pytest.mark.parametrize(("widths", "integer", "flat"), [
    ((49, 70, 130, 33), True, False),  # widths not multiples of 8 or 64
    ((49, 64, 64), True, False),
    ((30, 40), True, True),  # one hidden layer; tied class scores
    ((30, 40, 50), True, True),  # tied class scores, images settled early
    ((20, 8300, 12), True, False),  # a layer too wide for 16-bit margins
])
def test_batched_draws_equal_full_reevaluation(widths, integer, flat):
    rng = np.random.default_rng(len(widths) * 100 + widths[-1])
    net = _random_net(rng, widths, integer=integer, flat_scores=flat)
    images = rng.integers(0, 256, (150, widths[0], 1, 1), dtype=np.uint8)
    evaluator = DenseDrawEvaluator(net, images)
    unpruned = DenseDrawEvaluator(net, images, prune=False)
    np.testing.assert_array_equal(evaluator.clean_predictions, predict(net, images))
    for ber in (1e-4, 3e-3, 3e-2, 0.2):
        nets = [corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([d, 5]))
                for d in range(4)]
        together = evaluator.predict_draws([f.weight_words for f in nets])
        assert together.shape == (4, len(images))
        np.testing.assert_array_equal(
            unpruned.predict_draws([f.weight_words for f in nets]), together)
        for d, faulty in enumerate(nets):
            expected = predict(faulty, images)
            np.testing.assert_array_equal(together[d], expected, err_msg=f"{ber} draw {d}")
            np.testing.assert_array_equal(evaluator.predict_draws([faulty.weight_words])[0],
                                          expected)


def test_shipped_mlp_many_draws(pruned_unpruned_full_agree):
    from mrambnn.datasets import load_dataset

    net = load_model("mnist-mlp")
    images = load_dataset("mnist").x_test[:300]
    assert DenseDrawEvaluator(net, images).rows.dtype == np.int16  # 1024 wide: 16 bits
    for ber in (1e-4, 1e-3, 2e-3, 1e-2):
        for seed in (1, 2):
            nets = [corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([d, seed]))
                    for d in range(3)]
            pruned_unpruned_full_agree(DenseDrawEvaluator, net, images, nets,
                                       f"{ber} seed {seed}")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n_hidden=st.integers(2, 3),
       ber=st.sampled_from([1e-3, 1e-2, 5e-2]), flat=st.booleans())
def test_pruning_never_changes_a_prediction(seed, n_hidden, ber, flat,
                                            pruned_unpruned_full_agree):
    """Random small networks: pruned, unpruned and full evaluation agree draw by draw."""
    rng = np.random.default_rng(seed)
    widths = tuple(int(w) for w in rng.integers(8, 90, n_hidden + 1))
    net = _random_net(rng, widths, integer=True, n_classes=int(rng.integers(2, 12)),
                      flat_scores=flat)
    images = rng.integers(0, 256, (40, widths[0], 1, 1), dtype=np.uint8)
    nets = [corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([seed, d]))
            for d in range(3)]
    # only the output layer exposed: what it alone can do must be bounded too
    nets += [corrupt_net(net, BitFlip(ber=10 * ber), layers=[n_hidden],
                         rng=np.random.default_rng([seed, d])) for d in range(3, 5)]
    pruned_unpruned_full_agree(DenseDrawEvaluator, net, images, nets)


def test_no_slack_table_past_its_size_limit(monkeypatch):
    """Past the limit no image is settled early, and predictions stay exact."""
    from mrambnn.montecarlo import dense_draws

    rng = np.random.default_rng(4)
    net = _random_net(rng, (20, 30, 40), integer=True)
    images = rng.integers(0, 256, (30, 20, 1, 1), dtype=np.uint8)
    assert DenseDrawEvaluator(net, images).slack.shape == (30, 256)
    monkeypatch.setattr(dense_draws, "SLACK_TABLE_LIMIT", 40 * 5 - 1)
    evaluator = DenseDrawEvaluator(net, images)
    assert evaluator.slack.shape == (30, 0)
    nets = [corrupt_net(net, BitFlip(ber=1e-2), rng=np.random.default_rng([4, d]))
            for d in range(3)]
    together = evaluator.predict_draws([f.weight_words for f in nets])
    for d, faulty in enumerate(nets):
        np.testing.assert_array_equal(together[d], predict(faulty, images))


@pytest.mark.parametrize("limit", [0, 2**16])
def test_flip_records_and_cell_lists_agree(monkeypatch, limit):
    """Flips read from the neurons' 64-bit records (up to three) or from the cell lists
    (any count; every neuron where the cells do not fit 16 bits): the same predictions."""
    from mrambnn.montecarlo import dense_draws

    monkeypatch.setattr(dense_draws, "CELL_LIMIT", limit)
    rng = np.random.default_rng(8)
    net = _random_net(rng, (25, 60, 70), integer=True, n_classes=7)
    images = rng.integers(0, 256, (60, 25, 1, 1), dtype=np.uint8)
    evaluator = DenseDrawEvaluator(net, images)
    for ber in (3e-3, 3e-2, 0.1):  # 0.1: up to 16 flips per neuron
        nets = [corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([8, d]))
                for d in range(4)]
        records = evaluator._flips([f.weight_words for f in nets]).flip_records
        counts = records >> np.uint64(48)
        if limit == 0:
            assert (counts[counts > 0] == 2**16 - 1).all()
        else:
            assert (counts <= 3).any() and (ber < 0.1 or (counts > 3).any())
        together = evaluator.predict_draws([f.weight_words for f in nets])
        for d, faulty in enumerate(nets):
            np.testing.assert_array_equal(together[d], predict(faulty, images))


def test_int8_step_at_its_limit(monkeypatch):
    """A margin of 200 (clipped to 127 in int8) under ~30 toggled inputs and ~50 flips that
    all pull it toward zero: exact as long as t + f stays within `SMALL_REACH` (past it,
    the clipped value would cross zero where the true one does not: a wider limit fails
    here)."""
    from mrambnn.montecarlo import dense_draw_kernel, dense_draws

    def dense(n_in, n_out, threshold, *, integer=False, rows=None):
        signs = np.ones((n_out, n_in), np.int8) if rows is None else np.array(rows, np.int8)
        head = (Threshold(threshold=np.full(n_out, threshold, np.int64),
                          direction=np.ones(n_out, np.int8)) if threshold is not None
                else Affine(scale=np.ones(n_out), offset=np.zeros(n_out)))
        return Dense(weight_words=pack_signs(signs), in_features=n_in, integer_input=integer,
                     head=head)

    # pixels 1: layer 0's margins are 0, so every flip there toggles its neuron; layer 1's
    # one neuron has margin 120 + 80 = 200; layers 2 and 3 pass its bit to the classes
    net = PackedNet(layers=(dense(8, 120, 8, integer=True), dense(120, 1, -80),
                            dense(1, 1, 0), dense(1, 2, None, rows=[[1], [-1]])),
                    input_shape=(8, 1, 1), input_offset=0)
    images = np.ones((2, 8, 1, 1), np.uint8)
    nets = []
    for d, ber in enumerate([0.2, 0.3, 0.42] * 8):
        rng = np.random.default_rng([11, d])
        once = corrupt_net(net, BitFlip(ber=0.035), layers=[0], rng=rng)
        nets.append(corrupt_net(once, BitFlip(ber=ber), layers=[1], rng=rng))
    together = DenseDrawEvaluator(net, images).predict_draws([f.weight_words for f in nets])
    expected = np.array([predict(f, images) for f in nets])
    np.testing.assert_array_equal(together, expected)
    monkeypatch.setattr(dense_draw_kernel, "SMALL_REACH", 90)  # past the proof
    monkeypatch.setattr(dense_draws, "draws_kernel", dense_draw_kernel.njit(nogil=True)(
        dense_draw_kernel._draws_body))  # compiled again: it reads the wider limit
    wrong = DenseDrawEvaluator(net, images).predict_draws([f.weight_words for f in nets])
    assert (wrong != expected).any()


def test_slack_table_against_brute_force():
    """Each entry is the least gap left after every neuron within reach toggles, each
    the way that hurts most, never above the exact value (float32 rounded down)."""
    rng = np.random.default_rng(3)
    n_images, n_hidden, n_classes, reach_limit = 30, 70, 6, 40
    margins = rng.integers(-50, 50, (n_images, n_hidden))
    bits = margins >= 0
    signs = rng.choice(np.array([-1, 1]), (n_classes, n_hidden))
    scale = rng.uniform(-2, 2, n_classes)  # negative scales too
    scores = rng.normal(0, 20, (n_images, n_classes))
    slack = slack_table(margins, bits, signs, scores, scale, reach_limit)
    x = np.where(bits, 1.0, -1.0)
    for n in range(n_images):
        top = int(np.argmax(scores[n]))
        for r in (0, 7, 39):
            within = np.abs(margins[n]) <= r
            least = np.inf
            for c in range(n_classes):
                if c != top:
                    harm = np.maximum(0, 2 * x[n] * (scale[top] * signs[top]
                                                     - scale[c] * signs[c]))
                    least = min(least, scores[n, top] - scores[n, c] - harm[within].sum())
            assert slack[n, r] <= least
            assert slack[n, r] == pytest.approx(least, rel=1e-6, abs=1e-5)


def test_only_dense_networks_and_right_layer_count():
    assert not supports(load_model("fashion-conv"))
    with pytest.raises(ValueError, match="all dense"):
        DenseDrawEvaluator(load_model("fashion-conv"), np.zeros((2, 28, 28, 1), np.uint8))
    net = _random_net(np.random.default_rng(0), (10, 8), integer=True)
    evaluator = DenseDrawEvaluator(net, np.zeros((3, 10, 1, 1), np.uint8))
    with pytest.raises(ValueError, match="weight arrays"):
        evaluator.predict_draws([net.weight_words[:-1]])
    assert evaluator.predict_draws([]).shape == (0, 3)
