"""A user's own device, from a device file, drives every command that uses a device."""

import json
import re
import subprocess
import sys

import pytest


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrambnn.cli", *args], capture_output=True,
                          text=True)


def _one_line_error(result: subprocess.CompletedProcess, needle: str) -> None:
    assert result.returncode != 0 and "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.stderr


@pytest.fixture()
def my_device(tmp_path):
    """The pmtj-40nm preset written out, renamed and given a weaker P->AP junction."""
    dumped = _run("device", "pmtj-40nm")
    assert dumped.returncode == 0, dumped.stderr
    text = dumped.stdout.replace('name = "pmtj-40nm"', 'name = "lab-mtj"')
    text = re.sub(r"^ic0_p2ap = .*$", "ic0_p2ap = 8.0e-05  # A", text, flags=re.M)
    path = tmp_path / "lab.toml"
    path.write_text(text)
    return path


def test_device_command_writes_a_file_that_reads_back(tmp_path) -> None:
    out = tmp_path / "ikeda.toml"
    result = _run("device", "ikeda2010", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "delta 40" in result.stdout and out.is_file()
    checked = _run("device", str(out))
    assert checked.returncode == 0 and 'name = "ikeda2010"' in checked.stdout
    assert "ic0_p2ap = " in checked.stdout and "# A" in checked.stdout


def test_wer_uses_the_device_file(my_device) -> None:
    preset = _run("wer", "--current-ua", "100", "--width-ns", "10")
    mine = _run("wer", "--device", str(my_device), "--current-ua", "100", "--width-ns", "10")
    assert mine.returncode == 0, mine.stderr
    assert mine.stdout.startswith("lab-mtj p2ap")
    wer = [float(re.search(r"WER ([0-9.e+-]+)", r.stdout).group(1)) for r in (preset, mine)]
    assert wer[1] > wer[0]  # a larger ic0 switches less at the same pulse


def test_energy_sweep_uses_the_device_file(my_device, tmp_path) -> None:
    out = tmp_path / "e.json"
    result = _run("energy", "--device", str(my_device), "--currents-ua", "100,150",
                  "--draws", "2", "--n-images", "100", "--workers", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    points = json.loads(out.read_text())["points"]
    preset = _run("energy", "--currents-ua", "100,150", "--draws", "2", "--n-images", "100",
                  "--workers", "1", "--out", str(tmp_path / "p.json"))
    assert preset.returncode == 0, preset.stderr
    reference = json.loads((tmp_path / "p.json").read_text())["points"]
    assert points[0]["wer_p2ap"] > reference[0]["wer_p2ap"]


def test_budget_and_sweep_after_writing_use_the_device_file(my_device, tmp_path) -> None:
    sweep = tmp_path / "s.json"
    assert _run("sweep", "--bers", "0,0.001,0.01,0.1", "--draws", "2", "--n-images", "200",
                "--workers", "1", "--out", str(sweep)).returncode == 0
    reports = {}
    for name, device in (("preset", "pmtj-40nm"), ("mine", str(my_device))):
        result = _run("budget", "--sweep", str(sweep), "--device", device, "--out",
                      str(tmp_path / name))
        assert result.returncode == 0, result.stderr
        reports[name] = json.loads((tmp_path / name / "budget-mnist-mlp.json").read_text())
    assert reports["mine"] != reports["preset"]
    aged = tmp_path / "aged.json"
    result = _run("sweep", "--bers", "0", "--draws", "1", "--n-images", "100", "--workers",
                  "1", "--after", "1e6", "--device", str(my_device), "--out", str(aged))
    assert result.returncode == 0, result.stderr
    after = json.loads(aged.read_text())["config"]["after"]
    assert after["preset"] == "lab-mtj" and after["mtj"]["ic0_p2ap"] == 8.0e-05
    again = _run("sweep", "--bers", "0", "--draws", "1", "--n-images", "100", "--workers",
                 "1", "--after", "1e6", "--device", str(my_device), "--out", str(aged))
    assert again.returncode == 0, again.stderr  # its own file resumes


@pytest.mark.parametrize("command", [
    ["wer"], ["energy", "--n-images", "10", "--out", "OUT.json"], ["budget", "--out", "OUT"],
    ["lifetime", "--out", "OUT.json"], ["reproduce", "--out", "OUT"],
    ["sweep", "--after", "1", "--out", "OUT.json"]])
def test_a_malformed_device_file_is_one_line_naming_the_key(tmp_path, command) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[mtj]\ndelta = 55\nic0_p2ap = 7e-5\nic0_ap2p = 5e-5\ntau_d = 1e-9\n"
                   "tmr = 1.2\n")
    command = [arg.replace("OUT", str(tmp_path / "out")) for arg in command]
    _one_line_error(_run(*command, "--device", str(bad)), "unknown key mtj.tmr")


def test_a_device_in_the_cost_file_is_pointed_to_the_device_file(tmp_path) -> None:
    config = tmp_path / "cost.toml"
    config.write_text("[cost]\nreads_per_write = 10\n[mtj]\ndelta = 50\n")
    _one_line_error(_run("budget", "--config", str(config), "--out", str(tmp_path / "b")),
                    "[mtj] describes the device")
