"""Monte Carlo sweep of accuracy against the raw bit error rate of the stored weights.

Randomness: draw ``d`` at error rate ``ber`` uses its own stream
``default_rng([seed, bits_of(ber), d])``, so a point's result does not depend on the grid
order, on the other points, or on the number of worker processes, and any single draw can
be re-run alone. By default one fault pattern is drawn per draw and the whole test set is
evaluated on it (a chip programmed once, then used for every image).
"""

import csv
import io
import json
import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.engine import PackedNet, accuracy
from mrambnn.engine.incremental import IncrementalEvaluator
from mrambnn.engine.threads import use_threads
from mrambnn.experiments.deploy import check_layers, corrupt_net
from mrambnn.experiments.results import provenance, read_json, write_atomic
from mrambnn.experiments.stats import MeanInterval, mean_interval
from mrambnn.memory import BitFlip, FaultModel
from mrambnn.memory.ecc import get_code
from mrambnn.memory.ecc_channel import ECCProtected
from mrambnn.memory.faults import check_probability

__all__ = [
    "DEFAULT_BERS",
    "BerPoint",
    "DrawPlan",
    "SweepConfig",
    "SweepResult",
    "draw_rng",
    "evaluate_points",
    "run_ber_sweep",
]

DEFAULT_BERS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


@dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """What a BER sweep measures.

    Attributes:
        bers: raw bit error rates of the stored weights, each in [0, 1].
        n_draws: fault patterns per error rate (>= 1; 1 at ber = 0 suffices).
        seed: root seed of every draw's stream.
        layers: indices of the exposed layers (None = all).
        n_images: evaluate the first n test images (None = all).
        confidence: level of the confidence interval of the mean accuracy.
        code: 'none' stores the weights as they are; any other `mrambnn.memory.ecc` code
            puts encoding and decoding in the loop, the raw BER then hitting every stored
            bit (data and parity) and the network running on what the decoder returns.
    """

    bers: tuple[float, ...] = DEFAULT_BERS
    n_draws: int = 20
    seed: int = 2019
    layers: tuple[int, ...] | None = None
    n_images: int | None = None
    confidence: float = 0.95
    code: str = "none"

    def __post_init__(self) -> None:
        get_code(self.code)
        if not self.bers:
            raise ValueError("bers must not be empty")
        for ber in self.bers:
            check_probability("ber", ber)
        if self.n_draws < 1:
            raise ValueError(f"n_draws must be >= 1, got {self.n_draws}")
        if self.n_images is not None and self.n_images < 1:
            raise ValueError(f"n_images must be >= 1, got {self.n_images}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")


@dataclass(frozen=True, kw_only=True)
class BerPoint:
    """Accuracies (one per draw) measured at one raw bit error rate."""

    ber: float
    accuracies: tuple[float, ...]

    def summary(self, confidence: float = 0.95) -> MeanInterval:
        return mean_interval(np.array(self.accuracies), confidence=confidence)


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """A finished (or partial) sweep with its configuration and provenance."""

    config: SweepConfig
    model: dict[str, Any]
    points: tuple[BerPoint, ...]
    versions: dict[str, str] = field(default_factory=provenance)

    def point(self, ber: float) -> BerPoint:
        for p in self.points:
            if p.ber == ber:
                return p
        raise KeyError(f"no point at ber={ber}")

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for p in self.points:
            s = p.summary(self.config.confidence)
            rows.append({"ber": p.ber, "mean": s.mean, "std": s.std, "ci_low": s.low,
                         "ci_high": s.high, "n_draws": s.n, "accuracies": list(p.accuracies)})
        return {"kind": "ber_sweep", "config": asdict(self.config), "model": self.model,
                "versions": self.versions, "points": rows}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SweepResult":
        if data.get("kind") != "ber_sweep":
            raise ValueError("not a BER sweep result file")
        raw = dict(data["config"])
        raw["bers"] = tuple(raw["bers"])
        raw["layers"] = None if raw["layers"] is None else tuple(raw["layers"])
        points = tuple(BerPoint(ber=float(r["ber"]), accuracies=tuple(r["accuracies"]))
                       for r in data["points"])
        return cls(config=SweepConfig(**raw), model=data["model"], points=points,
                   versions=data.get("versions", {}))

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["ber", "mean_accuracy", "std", "ci_low", "ci_high", "n_draws"])
        for row in self.to_dict()["points"]:
            writer.writerow([row["ber"], row["mean"], row["std"], row["ci_low"],
                             row["ci_high"], row["n_draws"]])
        return out.getvalue()

    def save(self, path: Path) -> None:
        """Write ``path`` (JSON) and the CSV beside it, each atomically."""
        path = Path(path)
        write_atomic(path, json.dumps(self.to_dict(), indent=1))
        write_atomic(path.with_suffix(".csv"), self.to_csv())


def draw_rng(seed: int, ber: float, draw: int) -> np.random.Generator:
    """The independent stream of draw ``draw`` at error rate ``ber``."""
    ber_bits = int(np.float64(ber).view(np.uint64))
    return np.random.default_rng([seed, ber_bits, draw])


_WORKER: dict[str, Any] = {}
ENGINES = ("incremental", "full")


@dataclass(frozen=True, kw_only=True, eq=False)
class DrawPlan:
    """How to evaluate draws: the fault at each point key, the seed, the exposed layers,
    and the engine: 'incremental' (propagate only what a draw changes) or 'full'
    (re-evaluate every image); both give identical accuracies."""

    fault_for: Callable[[float], FaultModel]
    seed: int
    layers: tuple[int, ...] | None
    engine: str = "incremental"

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"unknown engine {self.engine!r}; choose one of "
                             f"{', '.join(ENGINES)}")


def _init_worker(net: PackedNet, images: np.ndarray, labels: np.ndarray, plan: DrawPlan,
                 evaluator: IncrementalEvaluator | None, forked: bool = False):
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    if forked:
        use_threads(1)  # one process per core; numba's pool must not cross a fork
    _WORKER.update(net=net, images=images, labels=labels, plan=plan, evaluator=evaluator)


def _one_draw(key: float, draw: int) -> float:
    net, plan = _WORKER["net"], _WORKER["plan"]
    faulty = corrupt_net(net, plan.fault_for(key), layers=plan.layers,
                         rng=draw_rng(plan.seed, key, draw))
    if _WORKER["evaluator"] is not None:
        return _WORKER["evaluator"].accuracy(faulty.weight_words, _WORKER["labels"])
    return accuracy(faulty, _WORKER["images"], _WORKER["labels"])


def _draw_batch(key: float, draws: range) -> list[float]:
    """Accuracies of several draws evaluated together (one clean pass per image)."""
    net, plan = _WORKER["net"], _WORKER["plan"]
    words = [corrupt_net(net, plan.fault_for(key), layers=plan.layers,
                         rng=draw_rng(plan.seed, key, d)).weight_words for d in draws]
    return _WORKER["evaluator"].accuracies(words, _WORKER["labels"])


def evaluate_points(
    net: PackedNet,
    images: np.ndarray,
    labels: np.ndarray,
    plan: DrawPlan,
    todo: Sequence[tuple[float, int]],
    *,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
) -> Iterator[tuple[float, tuple[float, ...]]]:
    """Accuracies of ``n_draws`` draws at each (key, n_draws) of ``todo``, point by point.

    Draw d at key k uses the stream ``draw_rng(plan.seed, k, d)``: results do not depend
    on ``workers`` or on the order of ``todo``.
    """
    check_layers(net, plan.layers)
    if not todo:
        return
    # built once here, before forking, so the workers share its clean state
    evaluator = IncrementalEvaluator(net, images) if plan.engine == "incremental" else None
    # an evaluator that takes many draws at once runs them all in this process, its
    # kernels parallel over images on `workers` threads (one clean pass per image)
    batched = evaluator is not None and evaluator.batched is not None
    pool = (ProcessPoolExecutor(workers, mp_context=get_context("fork"),
                                initializer=_init_worker,
                                initargs=(net, images, labels, plan, evaluator, True))
            if workers > 1 and not batched else None)
    if pool is None:
        _init_worker(net, images, labels, plan, evaluator)
    if batched:
        use_threads(workers)
    try:
        for key, n_draws in todo:
            if batched:
                draws = _draw_batch(key, range(n_draws))
                if progress:
                    progress(n_draws)
            elif pool is None:
                draws = []
                for d in range(n_draws):
                    draws.append(_one_draw(key, d))
                    if progress:
                        progress(1)
            else:
                draws = list(pool.map(_one_draw, [key] * n_draws, range(n_draws)))
                if progress:
                    progress(n_draws)
            yield key, tuple(draws)
    finally:
        if pool is not None:
            pool.shutdown()


def _resume(path: Path | None, config: SweepConfig) -> dict[float, BerPoint]:
    if path is None or not Path(path).exists():
        return {}
    previous = SweepResult.from_dict(read_json(path))
    if previous.config != config:
        raise ValueError(f"{path} holds a sweep with another configuration; "
                         "remove it or choose another output file")
    return {p.ber: p for p in previous.points}


def run_ber_sweep(
    net: PackedNet,
    images: np.ndarray,
    labels: np.ndarray,
    config: SweepConfig,
    *,
    out: Path | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    engine: str = "incremental",
) -> SweepResult:
    """Accuracy of ``net`` on (``images`` (N,H,W,C), ``labels`` (N,)) at every BER.

    Args:
        out: JSON file updated atomically after each finished point; if it already holds
            points of the same configuration they are kept, not recomputed (resume).
        workers: kernel threads (batched evaluators) or processes evaluating draws in
            parallel (results do not depend on it).
        progress: called with the number of draws just finished.
        engine: 'incremental' or 'full' evaluation of each draw (identical results).
    """
    check_layers(net, config.layers)
    if config.n_images is not None:
        images, labels = images[: config.n_images], labels[: config.n_images]
    done = _resume(out, config)
    plan = DrawPlan(fault_for=partial(_fault, config.code), seed=config.seed,
                    layers=config.layers, engine=engine)
    todo = [(ber, 1 if ber == 0 else config.n_draws) for ber in config.bers if ber not in done]
    for ber, draws in evaluate_points(net, images, labels, plan, todo, workers=workers,
                                      progress=progress):
        done[ber] = BerPoint(ber=ber, accuracies=draws)
        finished = tuple(done[b] for b in config.bers if b in done)
        if out is not None:
            SweepResult(config=config, model=net.metadata, points=finished).save(out)
    points = tuple(done[b] for b in config.bers)
    return SweepResult(config=config, model=net.metadata, points=points)


def _fault(code: str, ber: float) -> FaultModel:
    return BitFlip(ber=ber) if code == "none" else ECCProtected(code=code, raw_ber=ber)
