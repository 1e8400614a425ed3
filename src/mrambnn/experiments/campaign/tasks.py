"""The tasks of a campaign and how one runs: (model, fault model, grid point, block of
draws, block of images) -> the number of correctly classified images of each draw.

A task is small to send (a few numbers and names) and its result is small (one count per
draw); counts of image blocks add up exactly, so the merge does not depend on how the
work was cut or in which order it finished. Draw ``d`` at grid point ``k`` is the stream
``draw_rng(seed, k, d)`` and stores the whole network once, as a sweep does: a campaign's
accuracies equal the sweep's, draw by draw.

Each worker process keeps the models, test data and clean evaluations it loaded
(`_Worker`), so a model is read once per worker, not sent with every task.
"""

import hashlib
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from mrambnn.datasets import load_test_set
from mrambnn.engine import PackedNet
from mrambnn.engine.threads import kernel_threads
from mrambnn.experiments.campaign.spec import Campaign, FaultSpec, ModelSpec
from mrambnn.experiments.deploy import corrupt_net
from mrambnn.experiments.draws import draw_rng
from mrambnn.memory import BitFlip, FaultModel
from mrambnn.memory.ecc_channel import ECCProtected
from mrambnn.memory.mram import MRAM, WritePulseCondition
from mrambnn.models import dataset_of, load_model
from mrambnn.montecarlo import DrawEvaluator

__all__ = ["Task", "campaign_tasks", "draws_at", "fault_model", "load_net", "run_task",
           "campaign_data"]


@dataclass(frozen=True, kw_only=True)
class Task:
    """One unit of work: draws [draw_start, draw_end) at grid point ``key`` of fault
    model ``fault`` on test images [image_start, image_end) of model ``model``."""

    model: ModelSpec
    fault: FaultSpec
    key: float
    draw_start: int
    draw_end: int
    image_start: int
    image_end: int
    seed: int
    data_dir: str | None

    @property
    def task_id(self) -> str:
        """A name for the task's result file, the same in every run of the campaign."""
        text = repr((self.model, self.fault, self.key, self.draw_start, self.draw_end,
                     self.image_start, self.image_end, self.seed, self.data_dir))
        return hashlib.sha256(text.encode()).hexdigest()[:24]


def fault_model(fault: FaultSpec, key: float) -> FaultModel:
    """The fault model of ``fault`` at grid point ``key`` (a BER, or a current in A)."""
    if fault.kind == "bitflip":
        return BitFlip(ber=key)
    if fault.kind == "ecc":
        return ECCProtected(code=fault.code, raw_ber=key)
    mram = MRAM(mtj=fault.junction)
    return mram.fault(WritePulseCondition(current=key, width=fault.width))


def draws_at(fault: FaultSpec, key: float, draws: int) -> int:
    """Draws of a grid point: one where nothing can fail (BER 0), else ``draws``."""
    return 1 if fault.kind != "write" and key == 0 else draws


def n_test_images(model: ModelSpec, data_dir: Path | None) -> int:
    """Test images the campaign evaluates for ``model``."""
    return len(campaign_data(model.name, str(data_dir) if data_dir else None, model.n_images)[0])


def campaign_tasks(campaign: Campaign) -> list[Task]:
    """Every task of ``campaign``, grouped so that one model and image block come
    together (a worker then reuses its clean evaluation)."""
    tasks = []
    data_dir = str(campaign.data_dir) if campaign.data_dir else None
    for model in campaign.models:
        n = n_test_images(model, campaign.data_dir)
        for image_start in range(0, n, campaign.images_per_task):
            for fault in campaign.faults:
                for key in fault.grid:
                    total = draws_at(fault, key, campaign.draws)
                    for d in range(0, total, campaign.draws_per_task):
                        tasks.append(Task(
                            model=model, fault=fault, key=key, draw_start=d,
                            draw_end=min(total, d + campaign.draws_per_task),
                            image_start=image_start,
                            image_end=min(n, image_start + campaign.images_per_task),
                            seed=campaign.seed, data_dir=data_dir))
    return tasks


# a worker's threads (Dask runs tasks in threads) take turns on the cached evaluators
_EVALUATING = threading.Lock()


@lru_cache(maxsize=4)
def load_net(name: str) -> PackedNet:
    """The model ``name`` (shipped name or file), loaded once per process."""
    return load_model(name)


@lru_cache(maxsize=4)
def campaign_data(name: str, data_dir: str | None, n_images: int | None
              ) -> tuple[np.ndarray, np.ndarray]:
    """The test images (N, H, W, C) and labels (N,) the campaign evaluates for model
    ``name`` (the first ``n_images``; None: all), loaded once per process."""
    net = load_net(name)
    data = load_test_set(dataset_of(net, where=f"model {name}"),
                        Path(data_dir) if data_dir else None)
    return data.x_test[:n_images], data.y_test[:n_images]


@lru_cache(maxsize=2)
def _evaluator(name: str, data_dir: str | None, n_images: int | None, start: int, end: int
               ) -> DrawEvaluator:
    images, _ = campaign_data(name, data_dir, n_images)
    return DrawEvaluator(load_net(name), images[start:end])


def run_task(task: Task, *, threads: int = 1) -> list[int]:
    """Correctly classified images of each draw of ``task`` (draw_end - draw_start ints),
    with the kernels on ``threads`` threads."""
    name, n = task.model.name, task.model.n_images
    net = load_net(name)
    _, labels = campaign_data(name, task.data_dir, n)
    labels = labels[task.image_start:task.image_end]
    fault = fault_model(task.fault, task.key)
    with _EVALUATING, kernel_threads(threads):
        evaluator = _evaluator(name, task.data_dir, n, task.image_start, task.image_end)
        words = [corrupt_net(net, fault, rng=draw_rng(task.seed, task.key, d)).weight_words
                 for d in range(task.draw_start, task.draw_end)]
        predictions = evaluator.predict_many(words)
    return [int(np.sum(p == labels)) for p in predictions]
