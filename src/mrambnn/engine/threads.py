"""Threads for the compiled kernels: how many, and a pool that runs a kernel on blocks.

numba's own parallel loops, still used by a few helpers (`mrambnn.engine.flip_kernels`),
run on its work-queue layer: GNU OpenMP aborts a process that forks after using it, and
numba's pool must not be used in a child forked from a parent that started it.
"""

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numba
import numpy as np

__all__ = ["in_blocks", "parallel_enabled", "thread_count", "use_threads"]

numba.config.THREADING_LAYER = "workqueue"  # type: ignore[attr-defined]

T = TypeVar("T")

_STATE = {"parallel": True}


def use_threads(n_threads: int) -> None:
    """1: every kernel in the calling thread (for forked workers); more: that many
    threads (at most the number of cores), for `in_blocks` and numba's parallel loops."""
    _STATE["parallel"] = n_threads > 1
    if n_threads > 1:
        numba.set_num_threads(min(n_threads, numba.config.NUMBA_NUM_THREADS))  # type: ignore[attr-defined]


def parallel_enabled() -> bool:
    """Whether this process runs the parallel kernels (see `use_threads`)."""
    return _STATE["parallel"]


def thread_count() -> int:
    """Threads the kernels may use: 1 unless `use_threads` asked for more."""
    return numba.get_num_threads() if _STATE["parallel"] else 1  # type: ignore[no-any-return]


def in_blocks(run: Callable[[int, int], T], n: int, *, min_block: int = 1) -> list[T]:
    """``run(start, end)`` over contiguous blocks of range(n), on `thread_count` threads;
    the results in block order.

    ``run`` should call a compiled kernel with ``nogil=True`` on its block. Each call
    gets its own array objects, so the threads share no reference counts: numba's
    parallel loops, whose slices of shared arrays all update one count, ran two cores at
    1.0-1.3x one core. One block per thread: a hand-off to a pool thread costs tens of
    microseconds here."""
    threads = thread_count()
    if threads == 1 or n <= min_block:
        return [run(0, n)]
    n_blocks = max(1, min(threads, n // min_block))
    edges = [int(e) for e in np.linspace(0, n, n_blocks + 1)]
    others = [_pool(threads - 1).submit(run, edges[b], edges[b + 1])
              for b in range(1, n_blocks)]
    first = run(edges[0], edges[1])  # this thread takes a block too: one hand-off fewer
    return [first, *(future.result() for future in others)]


_POOLS: dict[tuple[int, int], ThreadPoolExecutor] = {}


def _pool(threads: int) -> ThreadPoolExecutor:
    """This process's pool of ``threads`` threads (starting threads costs about 1 ms a
    call); a forked child, which inherits the dictionary but not the threads, makes its
    own."""
    key = (os.getpid(), threads)
    if key not in _POOLS:
        _POOLS[key] = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="mrambnn")
    return _POOLS[key]
