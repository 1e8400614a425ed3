"""Campaigns: a file of models x fault models x grids gives the same results locally with
one or two processes and on a Dask cluster, after a worker dies or a run is interrupted,
and the same accuracies as the sweeps, draw by draw."""

import json
import os
import threading
from pathlib import Path

import pytest

from mrambnn.datasets import load_dataset
from mrambnn.experiments import SweepConfig, run_ber_sweep
from mrambnn.experiments.campaign import (
    LocalBackend,
    campaign_status,
    campaign_tasks,
    load_campaign,
    run_campaign,
)
from mrambnn.models import load_model

CAMPAIGN = """
name = "tiny"
seed = 7
draws = 3

[[model]]
name = "mnist-mlp"
n_images = 120

[[model]]
name = "fashion-conv"
n_images = 80

[[fault]]
kind = "bitflip"
grid = [0.0, 1e-3, 3e-2]

[[fault]]
kind = "write"
mtj = "pmtj-40nm"
width_ns = 10
currents_ua = [80, 150]

[tasks]
draws_per_task = 2
images_per_task = 50
"""


@pytest.fixture()
def campaign_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.toml"
    path.write_text(CAMPAIGN)
    return path


def _results(out: Path) -> dict[str, list]:
    """Every draw's accuracy of every result file, by file name."""
    found = {}
    for path in sorted(out.glob("*.json")):
        data = json.loads(path.read_text())
        found[path.name] = [p["accuracies"] for p in data["points"]]
    return found


def test_local_runs_agree_with_each_other_and_with_the_sweep(campaign_file, tmp_path) -> None:
    campaign = load_campaign(campaign_file)
    one = run_campaign(campaign, tmp_path / "one", LocalBackend(1))
    run_campaign(campaign, tmp_path / "two", LocalBackend(2))
    assert _results(tmp_path / "one") == _results(tmp_path / "two")
    assert len(one) == 4 and all(p.exists() for p in one)
    saved = json.loads((tmp_path / "one" / "mnist-mlp-bitflip.json").read_text())
    assert saved["campaign"]["text"] == CAMPAIGN and saved["kind"] == "ber_sweep"
    data = load_dataset("mnist")
    sweep = run_ber_sweep(load_model("mnist-mlp"), data.x_test, data.y_test,
                          SweepConfig(bers=(0.0, 1e-3, 3e-2), n_draws=3, seed=7, n_images=120))
    assert [list(p.accuracies) for p in sweep.points] == [p["accuracies"]
                                                          for p in saved["points"]]
    status = campaign_status(campaign, tmp_path / "one")
    assert all(row.done == row.total for row in status)


def test_an_interrupted_run_resumes_and_loses_nothing(campaign_file, tmp_path) -> None:
    campaign = load_campaign(campaign_file)
    run_campaign(campaign, tmp_path / "whole", LocalBackend(1))
    total = len(campaign_tasks(campaign))

    class Interrupted(LocalBackend):
        def run(self, tasks, on_result):  # type: ignore[no-untyped-def]
            def stop_midway(task, counts):  # type: ignore[no-untyped-def]
                on_result(task, counts)
                if len(list((tmp_path / "cut" / "tasks").glob("*.json"))) == total // 2:
                    raise KeyboardInterrupt
            super().run(tasks, stop_midway)

    with pytest.raises(KeyboardInterrupt):
        run_campaign(campaign, tmp_path / "cut", Interrupted(1))
    assert sum(r.done for r in campaign_status(campaign, tmp_path / "cut")) == total // 2
    run_campaign(campaign, tmp_path / "cut", LocalBackend(2))
    assert _results(tmp_path / "cut") == _results(tmp_path / "whole")


@pytest.mark.slow
def test_dask_cluster_gives_the_same_results_even_when_a_worker_dies(campaign_file,
                                                                    tmp_path) -> None:
    distributed = pytest.importorskip("distributed")
    from mrambnn.experiments.campaign import DaskBackend

    campaign = load_campaign(campaign_file)
    run_campaign(campaign, tmp_path / "local", LocalBackend(1))
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:
        backend = DaskBackend(cluster.scheduler_address)
        try:
            run_campaign(campaign, tmp_path / "dask", backend)
            assert _results(tmp_path / "dask") == _results(tmp_path / "local")
            # kill one worker process once a few tasks have finished: its tasks run again
            victim = next(iter(backend.client.scheduler_info()["workers"]))
            finished = tmp_path / "killed" / "tasks"

            def kill_when_started() -> None:
                while len(list(finished.glob("*.json"))) < 3:
                    threading.Event().wait(0.05)
                # the worker dies inside the call: its answer is a closed connection
                backend.client.run(os._exit, 1, workers=[victim], on_error="return")

            killer = threading.Thread(target=kill_when_started, daemon=True)
            killer.start()
            run_campaign(campaign, tmp_path / "killed", backend)
            killer.join(5)
            assert victim not in backend.client.scheduler_info()["workers"]  # it did die
            assert _results(tmp_path / "killed") == _results(tmp_path / "local")
        finally:
            backend.close()


def test_a_typo_names_the_valid_keys(tmp_path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(CAMPAIGN.replace("draws_per_task", "draw_per_task"))
    with pytest.raises(ValueError, match="unknown key.*draw_per_task.*valid: draws_per_task"):
        load_campaign(path)
    path.write_text(CAMPAIGN.replace('kind = "bitflip"', 'kind = "bitflips"'))
    with pytest.raises(ValueError, match="kind must be one of bitflip, ecc, write"):
        load_campaign(path)
    path.write_text(CAMPAIGN.replace('mtj = "pmtj-40nm"', 'mtj = "pmtj"'))
    with pytest.raises(ValueError, match="fault 2: unknown mtj 'pmtj': give a preset \\(pmtj-40nm"):
        load_campaign(path)


def test_a_write_fault_takes_a_device_file_beside_the_campaign(tmp_path) -> None:
    from dataclasses import replace

    from mrambnn.physics.device_file import device_toml
    from mrambnn.physics.presets import PRESETS

    mine = replace(PRESETS["pmtj-40nm"], ic0_p2ap=80e-6)
    (tmp_path / "devices").mkdir()
    (tmp_path / "devices" / "lab.toml").write_text(device_toml(mine, "lab-mtj"))
    path = tmp_path / "c.toml"
    path.write_text(CAMPAIGN.replace('mtj = "pmtj-40nm"', 'mtj = "devices/lab.toml"'))
    fault = load_campaign(path).faults[1]
    assert fault.device == mine and fault.label == "write-lab-mtj-10ns"
    (tmp_path / "devices" / "lab.toml").write_text("[mtj]\ndelta = 50\n")
    with pytest.raises(ValueError, match="fault 2: mtj: .*missing key mtj.ic0_p2ap"):
        load_campaign(path)


def test_the_command_line_runs_and_reports_a_campaign(campaign_file, tmp_path, capsys) -> None:
    from mrambnn.cli import main

    out = tmp_path / "cli"
    assert main(["campaign", "run", str(campaign_file), "--out", str(out), "--workers", "1"]) == 0
    assert main(["campaign", "status", str(campaign_file), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    total = len(campaign_tasks(load_campaign(campaign_file)))
    assert f"{total} of {total} tasks finished" in printed
    figure = tmp_path / "f.png"
    assert main(["plot", str(out / "mnist-mlp-bitflip.json"), "--out", str(figure)]) == 0
