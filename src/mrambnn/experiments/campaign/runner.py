"""Run a campaign: its tasks on a backend, each finished task's counts saved at once
(atomically), then the merge into the same result files a sweep writes.

Interrupted (Ctrl-C, a scheduler gone, a machine restarted), a campaign run again resumes
from the task files on disk and loses none. Layout of the output folder:
``tasks/<task id>.json`` (one per finished task) and, per model and fault model,
``<model>-<fault>.json`` (+ ``.csv`` for BER grids), each with the campaign file, its
SHA-256 and the versions embedded.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from mrambnn.experiments.ber_sweep import BerPoint, SweepConfig, SweepResult
from mrambnn.experiments.campaign.spec import Campaign, FaultSpec, ModelSpec
from mrambnn.experiments.campaign.tasks import (
    Task,
    campaign_data,
    campaign_tasks,
    draws_at,
    fault_model,
    load_net,
)
from mrambnn.experiments.energy_sweep import EnergyPoint, EnergySweepConfig, EnergySweepResult
from mrambnn.experiments.outputs import check_writable, data_sha256
from mrambnn.experiments.results import provenance, read_json, write_atomic
from mrambnn.memory.mram import MRAM, WritePulseCondition

__all__ = ["CampaignStatus", "campaign_status", "run_campaign"]


class Backend(Protocol):
    description: str

    def run(self, tasks: list[Task], on_result: Callable[[Task, list[int]], None]) -> None: ...


@dataclass(frozen=True, kw_only=True)
class CampaignStatus:
    """Finished and total tasks of one (model, fault model) pair."""

    model: str
    fault: str
    done: int
    total: int


def _task_file(out: Path, task: Task) -> Path:
    return out / "tasks" / f"{task.task_id}.json"


def _finished(out: Path, task: Task) -> list[int] | None:
    path = _task_file(out, task)
    if not path.is_file():
        return None
    counts = read_json(path).get("counts")
    if not isinstance(counts, list) or len(counts) != task.draw_end - task.draw_start:
        raise ValueError(f"{path} is not the result of its task; remove it to run it again")
    return [int(c) for c in counts]


def campaign_status(campaign: Campaign, out: Path) -> list[CampaignStatus]:
    """How many tasks of each (model, fault model) pair are finished in ``out``."""
    rows: dict[tuple[str, str], list[int]] = {}
    for task in campaign_tasks(campaign):
        row = rows.setdefault((task.model.label, task.fault.label), [0, 0])
        row[0] += _task_file(Path(out), task).is_file()
        row[1] += 1
    return [CampaignStatus(model=m, fault=f, done=d, total=t) for (m, f), (d, t) in rows.items()]


def run_campaign(campaign: Campaign, out: Path, backend: Backend, *,
                 progress: Callable[[int, int], Callable[[int], None]] | None = None
                 ) -> list[Path]:
    """Run every unfinished task of ``campaign`` on ``backend``, then write the merged
    results into ``out``; returns their paths. ``progress(total, done)`` returns a
    callback advanced by finished tasks."""
    out = Path(out)
    check_writable(out / "tasks")
    for fault in campaign.faults:  # a grid point without a valid fault fails now
        for key in fault.grid:
            fault_model(fault, key)
    tasks = campaign_tasks(campaign)
    todo = [t for t in tasks if _finished(out, t) is None]
    tick = progress(len(tasks), len(tasks) - len(todo)) if progress else None

    def save(task: Task, counts: list[int]) -> None:
        write_atomic(_task_file(out, task), json.dumps({"task": repr(task), "counts": counts}))
        if tick:
            tick(1)

    if todo:
        backend.run(todo, save)
    return [_merge(campaign, out, model, fault, tasks)
            for model in campaign.models for fault in campaign.faults]


def _counts(out: Path, tasks: list[Task], model: ModelSpec, fault: FaultSpec, key: float,
            total: int) -> list[int]:
    counts = np.zeros(total, np.int64)
    for task in tasks:
        if task.model == model and task.fault == fault and task.key == key:
            found = _finished(out, task)
            assert found is not None  # every task ran
            counts[task.draw_start:task.draw_end] += found
    return [int(c) for c in counts]


def _merge(campaign: Campaign, out: Path, model: ModelSpec, fault: FaultSpec,
           tasks: list[Task]) -> Path:
    data_dir = str(campaign.data_dir) if campaign.data_dir else None
    images, labels = campaign_data(model.name, data_dir, model.n_images)
    net = load_net(model.name)
    n = len(images)
    accuracies = {key: tuple(c / n for c in _counts(out, tasks, model, fault, key,
                                                     draws_at(fault, key, campaign.draws)))
                  for key in fault.grid}
    embedded = {"campaign": {"text": campaign.source, "sha256": hashlib.sha256(
        campaign.source.encode()).hexdigest()}, "versions": _versions(campaign)}
    path = out / f"{model.label}-{fault.label}.json"
    if fault.kind == "write":
        mram = MRAM(mtj=fault.junction)
        points = []
        for current in fault.grid:
            pulse = WritePulseCondition(current=current, width=fault.width)
            ap2p, p2ap = mram.write_error_rates(pulse)
            points.append(EnergyPoint(current=current, width=fault.width, wer_ap2p=ap2p,
                                      wer_p2ap=p2ap, energy_per_bit=mram.energy_per_bit(pulse),
                                      accuracies=accuracies[current]))
        energy = EnergySweepResult(
            config=EnergySweepConfig(width=fault.width, currents=fault.grid,
                                     n_draws=campaign.draws, seed=campaign.seed,
                                     n_images=model.n_images),
            mtj=mram.mtj, circuit=mram.circuit, prior=mram.prior, model=net.metadata,
            points=tuple(points))
        write_atomic(path, json.dumps(energy.to_dict() | embedded, indent=1))
        return path
    config = SweepConfig(bers=fault.grid, n_draws=campaign.draws, seed=campaign.seed,
                         n_images=model.n_images, code=fault.code)
    sweep = SweepResult(config=config, model=net.metadata,
                        points=tuple(BerPoint(ber=k, accuracies=accuracies[k])
                                     for k in fault.grid),
                        fingerprint={"model_sha256": net.content_sha256(),
                                     "data_sha256": data_sha256(images, labels)})
    write_atomic(path, json.dumps(sweep.to_dict() | embedded, indent=1))
    write_atomic(path.with_suffix(".csv"), sweep.to_csv())
    return path


def _versions(campaign: Campaign) -> dict[str, Any]:
    versions: dict[str, Any] = dict(provenance())
    if campaign.scheduler:
        from importlib.metadata import version

        versions["distributed"] = version("distributed")
    return versions
