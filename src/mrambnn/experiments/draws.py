"""The generic Monte Carlo driver: fault draws of a network at grid points, evaluated
exactly, in this process or in worker processes, with progress.

A grid point is keyed by a float (a BER, a write current, ...); the plan says which fault
model each key means. Draw ``d`` at key ``k`` uses its own stream ``draw_rng(seed, k, d)``,
so a point's result does not depend on the grid order, on the other points or on the
number of workers, and any single draw can be re-run alone. Nothing here is global to the
calling process: two runs in one process do not interfere (worker processes keep their
run in a module variable of their own).
"""

from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np

from mrambnn.engine import PackedNet, accuracy
from mrambnn.engine.threads import cores, kernel_threads, use_threads
from mrambnn.experiments.deploy import check_layers, corrupt_net
from mrambnn.memory import FaultModel
from mrambnn.montecarlo import DrawEvaluator

__all__ = ["ENGINES", "DrawPlan", "draw_rng", "evaluate_points"]

ENGINES = ("incremental", "full")
# Draws evaluated together at most: their stored weights are held in memory at once, so a
# point of 20,000 draws streams through in blocks (the usual 20 draws: one block).
DRAWS_PER_BLOCK = 32


def draw_rng(seed: int, key: float, draw: int) -> np.random.Generator:
    """The independent stream of draw ``draw`` at grid point ``key``."""
    key_bits = int(np.float64(key).view(np.uint64))
    return np.random.default_rng([seed, key_bits, draw])


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


class _Run:
    """One run's network, images, labels, plan and evaluator: the accuracy of any draw."""

    def __init__(self, net: PackedNet, images: np.ndarray, labels: np.ndarray,
                 plan: DrawPlan) -> None:
        self.net, self.images, self.labels, self.plan = net, images, np.asarray(labels), plan
        # built once, before any fork, so that worker processes share its clean state
        self.evaluator = DrawEvaluator(net, images) if plan.engine == "incremental" else None

    def words(self, key: float, draw: int) -> tuple[np.ndarray, ...]:
        plan = self.plan
        return corrupt_net(self.net, plan.fault_for(key), layers=plan.layers,
                           rng=draw_rng(plan.seed, key, draw)).weight_words

    def accuracies(self, key: float, draws: Sequence[int]) -> list[float]:
        """Accuracies of the draws ``draws`` at ``key``, evaluated together in blocks of
        `DRAWS_PER_BLOCK`."""
        if self.evaluator is None:  # the 'full' engine: every image through the packed net
            return [accuracy(self.net.with_weight_words(self.words(key, d)), self.images,
                             self.labels) for d in draws]
        found: list[float] = []
        for begin in range(0, len(draws), DRAWS_PER_BLOCK):
            block = draws[begin:begin + DRAWS_PER_BLOCK]
            found += self.evaluator.accuracies([self.words(key, d) for d in block],
                                               self.labels)
        return found


_FORKED: dict[str, _Run] = {}  # in a worker process only: the run it serves


def _start_worker(run: _Run) -> None:
    use_threads(1)  # one process per core
    _FORKED["run"] = run


def _worker_accuracy(key: float, draw: int) -> float:
    return _FORKED["run"].accuracies(key, [draw])[0]


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

    A batched evaluator (`DrawEvaluator.batched`) takes all the draws of a point at once
    in this process, its kernels on ``workers`` threads; otherwise draws run one by one,
    in ``workers`` forked processes when ``workers > 1``. Results do not depend on
    ``workers`` or on the order of ``todo``.
    """
    check_layers(net, plan.layers)
    if workers < 1:
        raise ValueError(f"workers must be >= 1, got {workers}")
    if not todo:
        return
    run = _Run(net, images, labels, plan)
    together = run.evaluator is not None and run.evaluator.batched
    pool = (ProcessPoolExecutor(min(workers, cores()), mp_context=get_context("fork"),
                                initializer=_start_worker, initargs=(run,))
            if workers > 1 and not together else None)
    try:
        for key, n_draws in todo:
            if together:
                with kernel_threads(workers):
                    draws = run.accuracies(key, range(n_draws))
                if progress:
                    progress(n_draws)
            elif pool is None:
                draws = []
                for d in range(n_draws):
                    with kernel_threads(workers):
                        draws.append(run.accuracies(key, [d])[0])
                    if progress:
                        progress(1)
            else:
                draws = list(pool.map(_worker_accuracy, [key] * n_draws, range(n_draws)))
                if progress:
                    progress(n_draws)
            yield key, tuple(draws)
    finally:
        if pool is not None:
            pool.shutdown()
