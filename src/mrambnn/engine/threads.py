"""Threads for the compiled kernels: how many, and a pool that runs a kernel on blocks.

The number of threads is a context variable (`kernel_threads`): it belongs to the thread
(or task) that sets it, so two evaluations in one process, each in its own thread, do not
change each other's setting. Importing this module changes nothing in the process.
"""

import os
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

import numpy as np

__all__ = ["IMAGES_PER_BLOCK", "cores", "in_blocks", "kernel_threads", "thread_count",
           "use_threads"]

T = TypeVar("T")

# Fewest images worth a thread of their own: below this a block runs in the caller.
IMAGES_PER_BLOCK = 16

_THREADS: ContextVar[int | None] = ContextVar("mrambnn_kernel_threads", default=None)


def cores() -> int:
    """Cores this process may run on."""
    affinity = getattr(os, "sched_getaffinity", None)
    return len(affinity(0)) if affinity else (os.cpu_count() or 1)


def thread_count() -> int:
    """Threads the kernels may use in this context: set by `kernel_threads` /
    `use_threads`, else one per core."""
    chosen = _THREADS.get()
    return cores() if chosen is None else chosen


def use_threads(n_threads: int) -> None:
    """Run the kernels of the current context on ``n_threads`` threads (at most one per
    core); 1 runs every kernel in the calling thread (e.g. in a forked worker process)."""
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    _THREADS.set(min(n_threads, cores()))


@contextmanager
def kernel_threads(n_threads: int) -> Iterator[None]:
    """`use_threads` for the duration of a ``with`` block, then the previous setting."""
    if n_threads < 1:
        raise ValueError(f"n_threads must be >= 1, got {n_threads}")
    token = _THREADS.set(min(n_threads, cores()))
    try:
        yield
    finally:
        _THREADS.reset(token)


def in_blocks(run: Callable[[int, int], T], n: int, *, min_block: int = 1) -> list[T]:
    """``run(start, end)`` over contiguous blocks of range(n), on `thread_count` threads;
    the results in block order.

    ``run`` should call a compiled kernel with ``nogil=True`` on its block. Each call
    gets its own array objects, so the threads share no reference counts: numba's
    parallel loops, whose slices of shared arrays all update one count, ran two cores at
    1.0-1.3x one core. One block per thread: a hand-off to a pool thread costs tens of
    microseconds here. Blocks hold at least ``min_block`` items."""
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
