"""The main job on models a user names: results go by the model's name (never its folders)
and every section runs on the models given."""

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from mrambnn.experiments.main_job import (
    MainJobConfig,
    config_for_models,
    model_label,
    run_main_job,
)
from mrambnn.models import resolve_model_path
from mrambnn.physics.device_file import device_toml
from mrambnn.physics.presets import PRESETS
from mrambnn.report import render_report


def test_labels_come_from_names_not_folders() -> None:
    assert model_label("mnist-mlp") == "mnist-mlp"
    assert model_label("bnn-pynq-cnv") == "bnn-pynq-cnv"
    assert model_label("/home/me/nets/my net+v2.npz") == "my-net-v2"
    config = config_for_models(["/data/a.npz", "mnist-mlp"])
    assert config.energy_model == "mnist-mlp"  # the default model is among them: kept
    config = config_for_models(["/data/a.npz", "/data/b.npz"])
    assert config.energy_model == config.budget_model == "/data/a.npz"
    assert config.devices is not None
    assert config.devices.spread_model == "a" and config.devices.codesign_models == ("a", "b")
    with pytest.raises(ValueError, match="under one name"):
        config_for_models(["/x/a.npz", "/y/a.npz"])


@pytest.mark.slow
def test_a_model_file_and_a_device_file_run_every_section_under_their_names(
        tmp_path: Path, tiny_config: MainJobConfig) -> None:
    tiny = tiny_config
    mine = tmp_path / "nets" / "mine.npz"
    mine.parent.mkdir()
    shutil.copy(resolve_model_path("mnist-mlp"), mine)
    device = tmp_path / "lab.toml"  # the preset's device under the user's name
    device.write_text(device_toml(PRESETS["pmtj-40nm"], "lab-mtj"))
    base = config_for_models([str(mine)], device=str(device))
    assert base.devices is not None and tiny.devices is not None
    config = replace(tiny, models=base.models, device=base.device,
                     energy_model=base.energy_model,
                     budget_model=base.budget_model,
                     devices=replace(tiny.devices, spread_model="mine",
                                     codesign_models=("mine",)),
                     layers=None)  # the layer study has a test of its own (test_main_job)
    out = tmp_path / "out"
    result = run_main_job(out, config)
    assert list(result.sweeps) == ["mine"]
    for name in ("sweep-mine.json", "sweep-mine.csv", "energy-mine.json",
                 "budget-mine.json"):
        assert (out / name).is_file(), name
    assert not any(p.is_dir() for p in out.iterdir())
    report = render_report(result, out, wall_seconds=1.0).read_text()
    assert "### Accuracy vs write energy (mine)" in report and "### mine" in report
    assert "mnist-mlp" not in report
    assert "MTJ `lab-mtj`: delta 60" in report and "pmtj-40nm" not in report
