"""Top-1 / top-5 sweeps: top-1 equals the BER sweep's accuracy draw for draw, top-k is
counted right (ties included), graphs work, and a sweep resumes."""

import json

import numpy as np
import pytest

import mrambnn.experiments.topk_sweep as module
from mrambnn.bits import pack_signs
from mrambnn.engine.graph import GraphNet
from mrambnn.engine.graph_nodes import BatchNorm, BinaryWeights, Flatten, Linear, Sign
from mrambnn.experiments import SweepConfig, run_ber_sweep
from mrambnn.experiments.topk_sweep import (
    TopKConfig,
    run_topk_stream,
    run_topk_sweep,
    topk_correct,
)


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
    monkeypatch.setattr(module, "_count", fail)
    again = run_topk_sweep(net, images, labels, config, out=path)
    assert again.points == first.points
    with pytest.raises(ValueError, match="another configuration"):
        run_topk_sweep(net, images, labels, TopKConfig(bers=(0.0,), seed=2), out=path)


class _Source:
    """Images served in chunks, as `ImageNetValidation` serves ILSVRC2012."""

    def __init__(self, images: np.ndarray, labels: np.ndarray, fail_after: int | None = None
                 ) -> None:
        self.images, self.labels, self.fail_after = images, labels, fail_after
        self.files = [f"img{i}.JPEG" for i in range(len(images))]
        self.served = 0

    def __len__(self) -> int:
        return len(self.images)

    def chunks(self, size: int = 500, *, start: int = 0, stop: int | None = None
               ):  # type: ignore[no-untyped-def]
        stop = len(self.images) if stop is None else stop
        for begin in range(start, stop, size):
            if self.fail_after is not None and self.served >= self.fail_after:
                raise KeyboardInterrupt
            self.served += 1
            end = min(begin + size, stop)
            yield self.images[begin:end], self.labels[begin:end]


def test_streamed_sweep_equals_the_in_memory_one_and_resumes(toy, tmp_path) -> None:
    net, images, labels = toy
    config = TopKConfig(bers=(0.0, 2e-2, 0.1), n_draws=3, seed=9, batch_size=64)
    reference = run_topk_sweep(net, images, labels, config)
    path = tmp_path / "stream.json"
    with pytest.raises(KeyboardInterrupt):
        run_topk_stream(net, _Source(images, labels, fail_after=2), config, out=path, chunk=70)
    assert json.loads(path.read_text())["images_done"] == 140
    source = _Source(images, labels)
    result = run_topk_stream(net, source, config, out=path, chunk=70)
    assert source.served == 3  # 160 images left, in chunks of 70
    for got, expected in zip(result.points, reference.points, strict=True):
        assert got.top1 == pytest.approx(expected.top1, abs=1e-12)
        assert got.top5 == pytest.approx(expected.top5, abs=1e-12)
    assert result.n_images == 300
    with pytest.raises(ValueError, match="finished top-k sweep"):
        run_topk_stream(net, _Source(images, labels), config, out=path)
