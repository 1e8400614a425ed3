"""The Monte Carlo driver keeps no state in the calling process: two runs interleaved in
one process, or run in two threads at once, give what each gives alone."""

import threading
from functools import partial

import numpy as np
import pytest

from mrambnn.engine.threads import thread_count
from mrambnn.experiments import DrawPlan, evaluate_points
from mrambnn.memory import BitFlip


@pytest.fixture(scope="module")
def toys(make_toy):
    return make_toy(96, 150), make_toy(160, 120)


def _plan(seed: int, engine: str = "incremental") -> DrawPlan:
    return DrawPlan(fault_for=partial(lambda ber: BitFlip(ber=ber)), seed=seed, layers=None,
                    engine=engine)


TODO = [(1e-2, 3), (1e-1, 3)]


def _alone(toy, plan, workers=1):  # type: ignore[no-untyped-def]
    net, images, labels = toy
    return list(evaluate_points(net, images, labels, plan, TODO, workers=workers))


def test_interleaved_runs_do_not_interfere(toys) -> None:
    first, second = toys
    expected = (_alone(first, _plan(1)), _alone(second, _plan(2, "full")))
    runs = (evaluate_points(*first, _plan(1), TODO, workers=2),
            evaluate_points(*second, _plan(2, "full"), TODO, workers=1))
    got: tuple[list, list] = ([], [])
    for a, b in zip(*runs, strict=True):  # one point of each in turn
        got[0].append(a)
        got[1].append(b)
    assert got == expected


def test_runs_in_two_threads_at_once(toys) -> None:
    first, second = toys
    expected = (_alone(first, _plan(3), workers=2), _alone(second, _plan(4), workers=1))
    got: list = [None, None]
    counts: list = [None, None]

    def run(i, toy, plan, workers):  # type: ignore[no-untyped-def]
        got[i] = _alone(toy, plan, workers)
        counts[i] = thread_count()  # the driver restores this thread's setting

    threads = [threading.Thread(target=run, args=(0, first, _plan(3), 2)),
               threading.Thread(target=run, args=(1, second, _plan(4), 1))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tuple(got) == expected
    assert counts == [thread_count()] * 2
    assert all(np.isfinite(acc).all() for run in got for _, acc in run)
