"""Campaign backends: overhead per task and speed-up with workers. Not a test.

(1) Empty tasks (a function that returns at once) per second through the local backend
    (1 and 2 processes) and a Dask LocalCluster (2 worker processes, one thread each):
    what a task costs beyond its work.
(2) A real campaign (two shipped networks, bit flips at three BERs, 6 draws, 2,000 test
    images each) with 1 and 2 local processes: wall time and speed-up (same results).

    .venv/bin/python benchmarks/campaign.py
"""

import tempfile
import time
from pathlib import Path

from mrambnn.experiments.campaign import LocalBackend, campaign_tasks, load_campaign, run_campaign
from mrambnn.experiments.campaign.tasks import Task

CAMPAIGN = """
name = "bench"
draws = 6
[[model]]
name = "mnist-mlp"
n_images = 2000
[[model]]
name = "fashion-conv"
n_images = 2000
[[fault]]
kind = "bitflip"
grid = [1e-4, 1e-3, 1e-2]
[tasks]
draws_per_task = 2
images_per_task = 500
"""


def empty(task: Task) -> list[int]:
    return [0] * (task.draw_end - task.draw_start)


def _rate(backend, tasks) -> float:  # type: ignore[no-untyped-def]
    began = time.perf_counter()
    backend.run(tasks, lambda task, counts: None)
    return len(tasks) / (time.perf_counter() - began)


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "bench.toml"
        path.write_text(CAMPAIGN)
        campaign = load_campaign(path)
        tasks = campaign_tasks(campaign) * 40  # enough empty tasks to time
        print(f"empty tasks: {len(tasks)}")
        for workers in (1, 2):
            rate = _rate(LocalBackend(workers, function=empty), tasks)
            print(f"| local, {workers} process(es) | {rate:,.0f} tasks/s |")
        import distributed

        from mrambnn.experiments.campaign import DaskBackend

        with distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                      dashboard_address=":0") as cluster:
            backend = DaskBackend(cluster.scheduler_address, function=empty)
            _rate(backend, tasks[:50])  # workers warm
            print(f"| Dask LocalCluster, 2 workers | {_rate(backend, tasks):,.0f} tasks/s |")
            backend.close()
        times = {}
        for workers in (1, 2):
            began = time.perf_counter()
            run_campaign(campaign, Path(folder) / f"out{workers}", LocalBackend(workers))
            times[workers] = time.perf_counter() - began
            print(f"| real campaign ({len(campaign_tasks(campaign))} tasks), {workers} "
                  f"process(es) | {times[workers]:.1f} s |")
        print(f"speed-up 1 -> 2 workers: {times[1] / times[2]:.2f}x")


if __name__ == "__main__":
    main()
