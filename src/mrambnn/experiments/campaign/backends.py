"""Where a campaign's tasks run: processes on this machine (the default, nothing to install
or start), or a Dask distributed cluster (``dask.distributed``, imported only then).

A backend runs `run_task` on each task and hands every result back as it arrives; the
order does not matter (the merge adds integer counts). A Dask worker that dies mid-task
has its task run again elsewhere by the scheduler, with the same result.
"""

from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from multiprocessing import get_context
from typing import Any

from mrambnn.engine.threads import cores
from mrambnn.experiments.campaign.tasks import Task, run_task

__all__ = ["DaskBackend", "LocalBackend"]

OnResult = Callable[[Task, list[int]], None]
TaskFunction = Callable[[Task], list[int]]


class LocalBackend:
    """``workers`` processes on this machine (forked: each loads what it needs once and
    keeps it), each running its kernels on one thread; one worker runs in this process."""

    def __init__(self, workers: int = 1, *, function: TaskFunction = run_task) -> None:
        if workers < 1:
            raise ValueError(f"workers must be >= 1, got {workers}")
        self.workers = min(workers, cores())
        self.function = function  # another one only to measure the backend itself
        self.description = f"{self.workers} local process(es)"

    def run(self, tasks: Sequence[Task], on_result: OnResult) -> None:
        if self.workers == 1:
            for task in tasks:
                on_result(task, self.function(task))
            return
        with ProcessPoolExecutor(self.workers, mp_context=get_context("fork")) as pool:
            futures = {pool.submit(self.function, task): task for task in tasks}
            try:
                for future in as_completed(futures):
                    on_result(futures[future], future.result())
            except BaseException:
                for future in futures:
                    future.cancel()
                raise


class DaskBackend:
    """The tasks on a Dask distributed cluster at ``address`` (``tcp://host:8786``; start
    one with ``dask scheduler`` and ``dask worker ADDRESS --nthreads 1`` per core, or with
    dask-jobqueue on SLURM/PBS). The model files and test data must be readable on the
    workers under the same paths."""

    def __init__(self, address: str, *, retries: int = 2,
                 function: TaskFunction = run_task) -> None:
        try:
            from distributed import Client
        except ImportError as error:
            raise ValueError("a Dask scheduler needs dask.distributed: "
                             "pip install 'distributed==2026.8.0'") from error
        try:
            self.client: Any = Client(address, timeout="20s")
        except (OSError, TimeoutError) as error:
            raise ValueError(f"cannot reach the Dask scheduler at {address}: {error}") from error
        self.retries = retries
        self.function = function  # another one only to measure the backend itself
        self.description = f"Dask scheduler {address} (dashboard {self.client.dashboard_link})"

    def run(self, tasks: Sequence[Task], on_result: OnResult) -> None:
        from distributed import as_completed as dask_completed

        futures = {self.client.submit(self.function, task, key=f"mrambnn-task-{task.task_id}",
                                      retries=self.retries, pure=False): task
                   for task in tasks}
        try:
            for future in dask_completed(futures):
                on_result(futures[future], future.result())
        except BaseException:
            self.client.cancel(list(futures))
            raise

    def close(self) -> None:
        self.client.close()
