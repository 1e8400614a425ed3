"""Top-1 and top-5 accuracy vs weight BER: the ImageNet-style measurement, for a chain
(`PackedNet`) or a graph (`GraphNet`) network.

Every draw is evaluated by the full path (the class scores of every image under that
draw's stored weights): the incremental Monte Carlo paths track the predicted class only.
The draws of a BER point meet each batch of images together, so that a chain network's
clean first layer is computed once for them all (`mrambnn.engine.FirstLayerReuse`).
Draw ``d`` at BER ``b`` uses the stream `draw_rng(seed, b, d)`, and its layers draw from
it in order, as `corrupt_net` does, so its top-1 accuracy is the one `run_ber_sweep`
gives for the same seed. Points are written atomically as they finish, and a rerun with
the same configuration, network and data resumes from them.
"""

import hashlib
import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mrambnn.engine import FirstLayerReuse, PackedNet
from mrambnn.engine.graph import GraphNet, graph_forward
from mrambnn.experiments.draws import draw_rng
from mrambnn.experiments.outputs import data_sha256, readable_result
from mrambnn.experiments.results import provenance, read_json, write_atomic
from mrambnn.experiments.stats import MeanInterval, mean_interval
from mrambnn.memory.faults import BitFlip

__all__ = ["ChunkSource", "TopKConfig", "TopKPoint", "TopKResult", "run_topk_stream",
           "run_topk_sweep", "topk_correct"]


@dataclass(frozen=True, kw_only=True)
class TopKConfig:
    """BERs (0 allowed: the clean network, one draw), draws per nonzero BER, seed, and
    images per batch of the full pass."""

    bers: tuple[float, ...] = (0.0, 1e-4, 1e-3, 1e-2)
    n_draws: int = 10
    seed: int = 0
    batch_size: int = 500

    def __post_init__(self) -> None:
        if not self.bers or any(not 0.0 <= b <= 1.0 for b in self.bers):
            raise ValueError(f"BERs must be probabilities in [0, 1], got {self.bers}")
        if self.n_draws < 1 or self.batch_size < 1:
            raise ValueError("n_draws and batch_size must be >= 1")

    def draws_at(self, ber: float) -> int:
        return 1 if ber == 0.0 else self.n_draws


@dataclass(frozen=True)
class TopKPoint:
    """One BER: each draw's top-1 and top-5 accuracy."""

    ber: float
    top1: tuple[float, ...]
    top5: tuple[float, ...]

    def summary(self, which: str = "top1", confidence: float = 0.95) -> MeanInterval:
        values = self.top1 if which == "top1" else self.top5
        return mean_interval(np.asarray(values), confidence=confidence, bounds=(0.0, 1.0))


@dataclass(frozen=True, kw_only=True)
class TopKResult:
    config: TopKConfig
    model: dict[str, Any]
    points: tuple[TopKPoint, ...]
    fingerprint: dict[str, str]
    n_images: int

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "topk_sweep", "config": asdict(self.config), "model": self.model,
                "n_images": self.n_images,
                "fingerprint": self.fingerprint, "provenance": provenance(),
                "points": [asdict(p) for p in self.points]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "TopKResult":
        try:
            config = data["config"]
            return cls(config=TopKConfig(**{**config, "bers": tuple(config["bers"])}),
                       model=dict(data["model"]), fingerprint=dict(data["fingerprint"]),
                       n_images=int(data["n_images"]),
                       points=tuple(TopKPoint(ber=float(p["ber"]), top1=tuple(p["top1"]),
                                              top5=tuple(p["top5"]))
                                    for p in data["points"]))
        except (KeyError, TypeError) as error:
            raise ValueError(f"not a top-k sweep result: {error}") from error

    def save(self, path: Path) -> None:
        write_atomic(path, json.dumps(self.to_dict(), indent=1, default=str))


def topk_correct(scores: np.ndarray, labels: np.ndarray, k: int) -> np.ndarray:
    """(N,) bool: whether ``labels`` (N,) is among the k highest of ``scores`` (N, C).
    Ties at the k-th score count against the label (a score equal to the label's,
    from a class of lower index, ranks above it, as argmax's first-index rule does)."""
    scores = np.asarray(scores, np.float64)
    mine = scores[np.arange(len(scores)), labels][:, None]
    index = np.arange(scores.shape[1])[None, :]
    above = (scores > mine) | ((scores == mine) & (index < labels[:, None]))
    return above.sum(axis=1) < k


def _rows_and_bits(net: PackedNet | GraphNet) -> list[tuple[np.ndarray, int]]:
    if isinstance(net, GraphNet):
        return list(zip(net.weight_words, net.weight_bits, strict=True))
    return [(layer.weight_words, layer.in_features) for layer in net.layers]


def _faulty_words(net: PackedNet | GraphNet, ber: float, rng: np.random.Generator
                  ) -> list[np.ndarray]:
    """The weight words of ``net`` as read back after storing them at ``ber`` (layers
    draw in order)."""
    fault = BitFlip(ber=ber)
    return [fault.corrupt(w, bits, rng=rng) for w, bits in _rows_and_bits(net)]


def _draw_scores(net: PackedNet | GraphNet, images: np.ndarray,
                 draws: Sequence[Sequence[np.ndarray]]) -> Iterator[np.ndarray]:
    """Class scores (N, C) of ``images`` under each draw's stored weights in turn (a
    chain's clean first layer computed once for them all: `FirstLayerReuse`)."""
    if isinstance(net, GraphNet):
        for words in draws:
            yield graph_forward(net.with_weight_words(list(words)), images)[0]
        return
    reuse = FirstLayerReuse(net, images)
    for words in draws:
        yield reuse.scores(words)


def _count(counts: list[list[int]], net: PackedNet | GraphNet, images: np.ndarray,
           labels: np.ndarray, draws: Sequence[Sequence[np.ndarray]], batch_size: int
           ) -> None:
    """Add each draw's top-1 and top-5 hits on (``images``, ``labels``) to ``counts``
    ([top1, top5] per draw)."""
    for i in range(0, len(images), batch_size):
        truth = labels[i:i + batch_size]
        for d, scores in enumerate(_draw_scores(net, images[i:i + batch_size], draws)):
            counts[d][0] += int(topk_correct(scores, truth, 1).sum())
            counts[d][1] += int(topk_correct(scores, truth, 5).sum())


def run_topk_sweep(net: PackedNet | GraphNet, images: np.ndarray, labels: np.ndarray,
                   config: TopKConfig, *, out: Path | None = None,
                   progress: Callable[[int], None] | None = None) -> TopKResult:
    """Top-1 and top-5 accuracy of ``net`` on (``images`` (N, H, W, C) uint8, ``labels``
    (N,)) at every BER of ``config``; ``out`` (.json) is rewritten after each point and
    read back on a rerun (a file of another sweep is refused)."""
    labels = np.asarray(labels, np.int64)
    fingerprint = {"model_sha256": net.content_sha256(), "data_sha256": data_sha256(images, labels)}
    done: dict[float, TopKPoint] = {}
    if out is not None and readable_result(out):
        previous = TopKResult.from_dict(read_json(out))
        if previous.config != config or previous.fingerprint != fingerprint:
            raise ValueError(f"{out} holds a top-k sweep of another configuration, model or "
                             "data; remove it or choose another output file")
        done = {p.ber: p for p in previous.points}
    for ber in config.bers:
        if ber in done:
            continue
        draws = [_faulty_words(net, ber, draw_rng(config.seed, ber, d))
                 for d in range(config.draws_at(ber))]
        counts = [[0, 0] for _ in draws]
        _count(counts, net, images, labels, draws, config.batch_size)
        if progress is not None:
            progress(len(draws))
        done[ber] = TopKPoint(ber=ber, top1=tuple(c[0] / len(images) for c in counts),
                              top5=tuple(c[1] / len(images) for c in counts))
        if out is not None:
            TopKResult(config=config, model=net.metadata, fingerprint=fingerprint,
                       points=tuple(done[b] for b in config.bers if b in done),
                       n_images=len(images)).save(out)
    return TopKResult(config=config, model=net.metadata, fingerprint=fingerprint,
                      points=tuple(done[b] for b in config.bers), n_images=len(images))



class ChunkSource(Protocol):
    """Labelled images too many to hold at once (`ImageNetValidation`): their count, and
    (images (n, H, W, C) uint8, labels (n,)) chunks from image ``start`` on."""

    def __len__(self) -> int: ...

    def chunks(self, size: int = 500, *, start: int = 0, stop: int | None = None
               ) -> Iterator[tuple[np.ndarray, np.ndarray]]: ...


def _partial(out: Path, config: TopKConfig, fingerprint: dict[str, str]
             ) -> tuple[int, dict[str, list[list[int]]]]:
    """Images done and counts of an interrupted streamed sweep in ``out`` (none: 0)."""
    if not readable_result(out):
        return 0, {}
    data = read_json(out)
    if data.get("kind") == "topk_sweep":
        raise ValueError(f"{out} holds a finished top-k sweep; remove it or choose another "
                         "output file")
    if data.get("kind") != "topk_stream_partial" or data.get("config") != json.loads(
            json.dumps(asdict(config))) or data.get("fingerprint") != fingerprint:
        raise ValueError(f"{out} holds another sweep (configuration, model or data); remove "
                         "it or choose another output file")
    return int(data["images_done"]), dict(data["counts"])


def run_topk_stream(net: PackedNet | GraphNet, source: ChunkSource, config: TopKConfig, *,
                    out: Path, chunk: int = 500, stop: int | None = None,
                    progress: Callable[[int], None] | None = None) -> TopKResult:
    """`run_topk_sweep` over images streamed in chunks (ILSVRC2012's 50,000): each chunk
    is decoded once and every draw of every BER evaluated on it; the draws' stored
    weights are kept in memory meanwhile (BERs x draws copies of the weight words: 180
    copies of alexnet-bnn's 9.6 MB for the paper's grid). ``out`` (.json) records the
    counts after every chunk, so an interrupted run resumes at the next chunk; it holds
    the finished `TopKResult` at the end. ``stop``: evaluate the first ``stop`` images
    only. Same seeds, same draws, same results as `run_topk_sweep` on those images."""
    total = len(source) if stop is None else min(stop, len(source))
    names = getattr(source, "files", None)
    labels_all = np.asarray(getattr(source, "labels", np.zeros(0)))[:total]
    identity = json.dumps([list(names or [])[:total], labels_all.tolist(), total])
    fingerprint = {"model_sha256": net.content_sha256(),
                   "data_sha256": hashlib.sha256(identity.encode()).hexdigest()}
    done, counts = _partial(out, config, fingerprint)
    draws = {ber: [_faulty_words(net, ber, draw_rng(config.seed, ber, d))
                   for d in range(config.draws_at(ber))] for ber in config.bers}
    for ber in config.bers:
        counts.setdefault(repr(ber), [[0, 0] for _ in draws[ber]])
    for images, labels in source.chunks(chunk, start=done, stop=total):
        labels = np.asarray(labels, np.int64)
        for ber in config.bers:
            _count(counts[repr(ber)], net, images, labels, draws[ber], config.batch_size)
        done += len(images)
        write_atomic(out, json.dumps({"kind": "topk_stream_partial", "config": asdict(config),
                                      "fingerprint": fingerprint, "images_done": done,
                                      "counts": counts}, default=str))
        if progress is not None:
            progress(len(images))
    points = tuple(TopKPoint(ber=ber, top1=tuple(c[0] / done for c in counts[repr(ber)]),
                             top5=tuple(c[1] / done for c in counts[repr(ber)]))
                   for ber in config.bers)
    result = TopKResult(config=config, model=net.metadata, points=points,
                        fingerprint=fingerprint, n_images=done)
    result.save(out)
    return result
