"""Top-1 / top-5 sweeps: top-1 equals the BER sweep's accuracy draw for draw, top-k is
counted right (ties included), graphs work, and a sweep resumes."""

import numpy as np
import pytest

import mrambnn.experiments.topk_sweep as module
from mrambnn.bits import pack_signs
from mrambnn.engine.graph import GraphNet
from mrambnn.engine.graph_nodes import BatchNorm, BinaryWeights, Flatten, Linear, Sign
from mrambnn.experiments import SweepConfig, run_ber_sweep
from mrambnn.experiments.topk_sweep import TopKConfig, run_topk_sweep, topk_correct


@pytest.fixture(scope="module")
def toy(make_toy):
    return make_toy(64, 300)


def test_top1_is_the_ber_sweeps_accuracy_draw_for_draw(toy) -> None:
    net, images, labels = toy
    config = TopKConfig(bers=(0.0, 1e-2, 0.1), n_draws=4, seed=5, batch_size=70)
    result = run_topk_sweep(net, images, labels, config)
    sweep = run_ber_sweep(net, images, labels, SweepConfig(bers=(0.0, 1e-2, 0.1), n_draws=4,
                                                             seed=5))
    for point in result.points:
        assert point.top1 == sweep.point(point.ber).accuracies
        assert all(t5 >= t1 for t1, t5 in zip(point.top1, point.top5, strict=True))
    assert result.points[0].top1 == (1.0,)
    assert result.points[-1].summary("top1").mean < 0.9


def test_topk_counts_ties_against_the_label() -> None:
    scores = np.array([[3.0, 1.0, 2.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 5.0, 5.0, 1.0]])
    assert topk_correct(scores, np.array([2, 0, 2]), 1).tolist() == [False, True, False]
    assert topk_correct(scores, np.array([2, 3, 2]), 2).tolist() == [True, False, True]
    assert topk_correct(scores, np.array([3, 3, 0]), 4).tolist() == [True, True, True]


def test_graph_network_sweep_and_resume(tmp_path, monkeypatch) -> None:
    rng = np.random.default_rng(1)
    weights = BinaryWeights(words=pack_signs(np.where(rng.random((20, 16)) < .5, 1, -1)),
                            fan_in=16)
    out = BinaryWeights(words=pack_signs(np.where(rng.random((8, 20)) < .5, 1, -1)),
                        fan_in=20)
    nodes = (Flatten(name="flat", inputs=("input",)),
             Linear(name="fc1", inputs=("flat",), weights=weights),
             BatchNorm(name="bn", inputs=("fc1",), mean=rng.normal(0, 20, 20),
                       var=np.full(20, 100.0), gamma=np.ones(20), beta=np.zeros(20)),
             Sign(name="s", inputs=("bn",)),
             Linear(name="fc2", inputs=("s",), weights=out))
    net = GraphNet(nodes=nodes, input_shape=(4, 4, 1),
                   input_levels=(np.arange(256) - 128).astype(np.int16)[None, :])
    images = rng.integers(0, 256, (200, 4, 4, 1), dtype=np.uint8)
    labels = rng.integers(0, 8, 200)
    config = TopKConfig(bers=(0.0, 0.05, 0.3), n_draws=3, seed=2)
    path = tmp_path / "topk.json"
    first = run_topk_sweep(net, images, labels, config, out=path)
    assert [len(p.top5) for p in first.points] == [1, 3, 3]
    def fail(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("a finished point was recomputed")
    monkeypatch.setattr(module, "_draw", fail)
    again = run_topk_sweep(net, images, labels, config, out=path)
    assert again.points == first.points
    with pytest.raises(ValueError, match="another configuration"):
        run_topk_sweep(net, images, labels, TopKConfig(bers=(0.0,), seed=2), out=path)
