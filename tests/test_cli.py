"""Bad input gives a one-line error and a non-zero exit, never a traceback."""

import subprocess
import sys

import numpy as np
import pytest


def _run(*args: str, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrambnn.cli", *args], capture_output=True,
                          text=True, cwd=cwd)


def _one_line_error(result: subprocess.CompletedProcess, needle: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert any(needle in line for line in lines), result.stderr


def test_ber_outside_unit_interval(tmp_path) -> None:
    _one_line_error(_run("sweep", "--bers", "0,1.5", "--out", str(tmp_path / "s.json")),
                    "outside [0, 1]")


def test_unknown_model_name_lists_choices(tmp_path) -> None:
    _one_line_error(_run("sweep", "--model", "resnet-9000", "--out", str(tmp_path / "s.json")),
                    "choose one of mnist-mlp")


def test_corrupt_model_file(tmp_path) -> None:
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"garbage")
    _one_line_error(_run("sweep", "--model", str(bad), "--out", str(tmp_path / "s.json")),
                    "not a readable .npz model file")


def test_missing_data_file(tmp_path) -> None:
    _one_line_error(_run("sweep", "--data-dir", str(tmp_path), "--out", str(tmp_path / "s.json")),
                    "mrambnn data fetch mnist")


def test_unknown_dataset_for_training(tmp_path) -> None:
    result = _run("train", "--dataset", "imagenet", "--out", str(tmp_path / "m.npz"))
    assert result.returncode != 0 and "invalid choice" in result.stderr


@pytest.mark.parametrize("command", ["sweep", "budget", "reproduce"])
def test_help_lists_every_shipped_model_and_code(command: str) -> None:
    from mrambnn.memory.ecc import CODE_NAMES
    from mrambnn.models import SHIPPED_MODELS

    text = "".join(_run(command, "--help").stdout.split())  # argparse wraps at hyphens
    for name in SHIPPED_MODELS:
        assert name in text, name
    if command == "sweep":
        for code in CODE_NAMES:
            assert code in text, code


def test_sweep_end_to_end_on_shipped_model(tmp_path) -> None:
    out = tmp_path / "s.json"
    result = _run("sweep", "--bers", "0,0.01", "--draws", "2", "--n-images", "200",
                  "--workers", "1", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.exists() and out.with_suffix(".csv").exists()
    plot = _run("plot", str(out), "--out", str(tmp_path / "f.png"))
    assert plot.returncode == 0, plot.stderr
    assert (tmp_path / "f.png").read_bytes()[:4] == b"\x89PNG"
    assert np.isfinite(float(out.with_suffix(".csv").read_text().splitlines()[1].split(",")[1]))


def test_wer_command_and_its_errors() -> None:
    ok = _run("wer", "--current-ua", "100", "--width-ns", "10")
    assert ok.returncode == 0 and "WER" in ok.stdout
    table = _run("wer", "--width-ns", "10")
    assert table.returncode == 0 and "F^2" in table.stdout and "1e-09" in table.stdout
    _one_line_error(_run("wer", "--current-ua", "-5", "--width-ns", "3"), "must be > 0 A")
    _one_line_error(_run("wer", "--preset", "nope"), "give a preset (pmtj-40nm")


def test_budget_command_from_a_sweep_file_and_its_errors(tmp_path) -> None:
    sweep = _run("sweep", "--bers", "0,0.001,0.01,0.1", "--draws", "2", "--n-images", "300",
                 "--workers", "1", "--out", str(tmp_path / "s.json"))
    assert sweep.returncode == 0, sweep.stderr
    config = tmp_path / "cost.toml"
    config.write_text("[cost]\nreads_per_write = 10\nread_energy_per_bit = 2e-13\n")
    result = _run("budget", "--sweep", str(tmp_path / "s.json"), "--config", str(config),
                  "--out", str(tmp_path / "b"))
    assert result.returncode == 0, result.stderr
    assert "energy ratio" in result.stdout and "tolerable BER" in result.stdout
    report = (tmp_path / "b" / "budget.md").read_text()
    assert "Cheapest ECC configuration" in report
    # an overridden value says so, beside its default and the default's source
    assert "`reads_per_write` = 10: given for this run (default 1: 1: weights" in report
    assert "`pulse_width` = 1e-08: 10 ns" in report  # not overridden: its own source
    assert "the BER sweep above" not in report and f"the BER sweep {tmp_path / 's.json'}" \
        in report
    assert "against the BNN memory's" in report and "its total area" in report
    assert (tmp_path / "b" / "budget-trends-s.png").exists() or any(
        (tmp_path / "b").glob("budget-trends-*.png"))
    config.write_text("[cost]\nread_energy = 1\n")
    _one_line_error(_run("budget", "--sweep", str(tmp_path / "s.json"), "--config",
                         str(config), "--out", str(tmp_path / "c")), "unknown cost parameter")


def test_sweep_after_writing_and_its_errors(tmp_path) -> None:
    out = tmp_path / "aged.json"
    result = _run("sweep", "--bers", "0,0.001", "--draws", "2", "--n-images", "200",
                  "--workers", "1", "--after", "3.2e7", "--delta", "40", "--spread",
                  "pmtj-array", "--chip-seed", "3", "--out", str(out))
    assert result.returncode == 0, result.stderr
    import json
    after = json.loads(out.read_text())["config"]["after"]
    assert after["time"] == 3.2e7 and after["delta"] == 40 and after["spread"] == "pmtj-array"
    _one_line_error(_run("sweep", "--delta", "40", "--out", str(tmp_path / "x.json")),
                    "give --after SECONDS")
    _one_line_error(_run("sweep", "--after", "10", "--code", "secded-72-64", "--out",
                         str(tmp_path / "y.json")), "cannot be combined with the code")
    _one_line_error(_run("sweep", "--after", "-1", "--out", str(tmp_path / "z.json")),
                    "must be >= 0 s")


def test_wer_says_when_the_energy_optimum_sits_at_the_current_limit() -> None:
    optimal = _run("wer")
    assert optimal.returncode == 0, optimal.stderr
    assert "(at the current limit)" in optimal.stdout
    assert "set by the supply: Vdd 0.9 V / R 4000 ohm = 225 uA" in optimal.stdout
    assert "3 of 3 optima sit at that limit" in optimal.stdout
    fixed = _run("wer", "--width-ns", "10")
    assert "current limit" not in fixed.stdout


def test_a_model_without_its_data_set_is_refused_not_run_on_mnist(tmp_path) -> None:
    from dataclasses import replace

    from mrambnn.engine import save_packed_net
    from mrambnn.models import load_model

    bare = tmp_path / "bare.npz"
    save_packed_net(replace(load_model("mnist-mlp"), metadata={}), bare)
    out = str(tmp_path / "s.json")
    for command in ("sweep", "budget", "energy", "lifetime"):
        _one_line_error(_run(command, "--model", str(bare), "--out",
                             str(tmp_path / f"{command}-out")),
                        "does not say which data set it needs")
    _one_line_error(_run("sweep", "--model", "mnist-mlp", "--dataset", "cifar10", "--out", out),
                    "was trained on mnist, not cifar10")
    given = _run("sweep", "--model", str(bare), "--dataset", "mnist", "--bers", "0",
                 "--draws", "1", "--n-images", "100", "--workers", "1", "--out", out)
    assert given.returncode == 0, given.stderr


def test_train_help_lists_the_architectures_with_sizes_and_refuses_unknown_ones(tmp_path
                                                                                ) -> None:
    text = " ".join(_run("train", "--help").stdout.split())
    assert "vgg-w48" in text and "M weights" in text and "mlp-DxW" in text
    _one_line_error(_run("train", "--arch", "resnet-18", "--out", str(tmp_path / "m.npz")),
                    "unknown architecture 'resnet-18'")


def test_plot_labels_tell_sweeps_apart(tmp_path) -> None:
    from mrambnn.cli.plot_command import _read, default_labels

    paths = []
    for name, extra in (("all", []), ("first", ["--layers", "0"])):
        out = tmp_path / f"{name}.json"
        result = _run("sweep", "--bers", "0,0.01", "--draws", "2", "--n-images", "100",
                      "--workers", "1", "--out", str(out), *extra)
        assert result.returncode == 0, result.stderr
        paths.append(out)
    labels = default_labels([_read(p) for p in paths], paths)
    assert labels[0] != labels[1] and "layers 0" in labels[1] and "100 images" in labels[0]
    same = default_labels([_read(paths[0])] * 2, [paths[0], tmp_path / "copy.json"])
    assert same[0] != same[1]  # identical settings: the file names tell them apart
    figure = tmp_path / "f.png"
    ok = _run("plot", *map(str, paths), "--label", "every layer", "--label", "first layer",
              "--out", str(figure))
    assert ok.returncode == 0, ok.stderr
    _one_line_error(_run("plot", *map(str, paths), "--label", "one", "--out", str(figure)),
                    "give one --label per result file")
    (tmp_path / "bad.json").write_text('{"kind": "something"}')
    _one_line_error(_run("plot", str(tmp_path / "bad.json"), "--out", str(figure)),
                    "is not a BER sweep or energy sweep result file")


def test_table_gives_one_tidy_row_per_draw(tmp_path) -> None:
    import csv

    from mrambnn.experiments.tidy import COLUMNS

    sweep = tmp_path / "s.json"
    assert _run("sweep", "--bers", "0,0.01", "--draws", "3", "--n-images", "100",
                "--workers", "1", "--out", str(sweep)).returncode == 0
    aged = tmp_path / "aged.json"
    assert _run("sweep", "--bers", "0.01", "--draws", "2", "--n-images", "100", "--workers",
                "1", "--after", "100", "--delta", "30", "--out", str(aged)).returncode == 0
    energy = tmp_path / "e.json"
    assert _run("energy", "--currents-ua", "90,150", "--draws", "2", "--n-images", "100",
                "--workers", "1", "--out", str(energy)).returncode == 0
    table = tmp_path / "draws.csv"
    made = _run("table", str(sweep), str(aged), str(energy), "--out", str(table))
    assert made.returncode == 0, made.stderr
    with open(table, newline="") as stream:
        rows = list(csv.DictReader(stream))
    assert tuple(rows[0]) == COLUMNS
    assert len(rows) == (1 + 3) + 2 + 2 * 2  # BER 0 has one draw
    ber = [r for r in rows if r["kind"] == "ber_sweep" and r["after_s"] == ""]
    assert {r["ber"] for r in ber} == {"0.0", "0.01"} and ber[0]["dataset"] == "mnist"
    assert all(r["n_images"] == "100" and r["code"] == "none" for r in ber)
    later = [r for r in rows if r["after_s"] == "100.0"]
    assert len(later) == 2 and later[0]["delta"] == "30.0"
    watts = [r for r in rows if r["kind"] == "energy_sweep"]
    assert sorted({round(float(r["current_a"]) * 1e6, 6) for r in watts}) == [90, 150]
    assert all(0 <= float(r["accuracy"]) <= 1 for r in rows)
    _one_line_error(_run("table", str(sweep), "--out", str(tmp_path / "t.xlsx")),
                    "write the table as .csv or .parquet")


def test_a_long_sweep_is_announced_with_its_estimate(tmp_path) -> None:
    """The threshold is lowered to 0 s, so that any sweep counts as long."""
    code = ("import sys; import mrambnn.cli.commands as c; c.LONG_RUN_SECONDS = 0.0; "
            "from mrambnn.cli import main; sys.exit(main(sys.argv[1:]))")
    result = subprocess.run(
        [sys.executable, "-c", code, "sweep", "--bers", "0.05", "--draws", "2", "--n-images",
         "100", "--code", "bch-dec-78-64", "--out", str(tmp_path / "s.json")],
        capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert len(warning) == 1 and "2 draws" in warning[0], result.stderr
    assert "bch-dec-78-64 decoder" in warning[0]


def test_a_sweep_reads_only_test_files_from_a_data_root_anywhere(tmp_path) -> None:
    """Only the two MNIST test files, under a data root given as --data-dir or by
    MRAMBNN_DATA_DIR; run from another working directory."""
    import os
    import shutil

    from mrambnn.datasets.locations import data_roots

    source = next(root / "mnist" for root, _ in data_roots()
                  if (root / "mnist" / "t10k-images-idx3-ubyte").is_file())
    (tmp_path / "root" / "mnist").mkdir(parents=True)
    for stem in ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"):
        shutil.copy(source / stem, tmp_path / "root" / "mnist" / stem)
    args = ("sweep", "--bers", "0", "--draws", "1", "--n-images", "50", "--workers", "1")
    given = _run(*args, "--data-dir", str(tmp_path / "root"), "--out", str(tmp_path / "a.json"),
                 cwd=tmp_path)
    assert given.returncode == 0, given.stderr
    env = {**os.environ, "MRAMBNN_DATA_DIR": str(tmp_path / "root")}
    from_env = subprocess.run([sys.executable, "-m", "mrambnn.cli", *args, "--out",
                               str(tmp_path / "b.json")], capture_output=True, text=True,
                              cwd=tmp_path, env=env)
    assert from_env.returncode == 0, from_env.stderr
    missing = _run(*args, "--data-dir", str(tmp_path / "nowhere"), "--out",
                   str(tmp_path / "c.json"))
    _one_line_error(missing, f"searched {tmp_path / 'nowhere'}, {tmp_path / 'nowhere' / 'mnist'}")
