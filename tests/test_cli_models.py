"""``mrambnn import`` and ``mrambnn info``: each format end to end (import, info, a sweep of
the imported file), and each kind of bad input as a one-line error that writes nothing."""

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from mrambnn.importers.finn import default_cnv_folder
from mrambnn.models import SHIPPED_MODELS


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrambnn.cli", *args], capture_output=True,
                          text=True)


def _one_line_error(result: subprocess.CompletedProcess, needle: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], result.stderr


ARCH = textwrap.dedent('''
    import torch
    import torch.nn.functional as F
    from torch import nn


    class SignLinear(nn.Linear):
        def forward(self, x):
            return F.linear(x, torch.sign(self.weight), self.bias)


    class TinyMLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1, self.bn1 = SignLinear(784, 32), nn.BatchNorm1d(32)
            self.fc2, self.bn2 = SignLinear(32, 10), nn.BatchNorm1d(10)

        def forward(self, x):
            x = torch.sign(self.bn1(self.fc1(x.flatten(1))))
            return self.bn2(self.fc2(x))


    class WithRelu(TinyMLP):
        def forward(self, x):
            return self.bn2(self.fc2(torch.relu(self.bn1(self.fc1(x.flatten(1))))))
''')


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_info_on_every_shipped_model(name: str) -> None:
    result = _run("info", name)
    assert result.returncode == 0, result.stderr
    assert "MRAM bits" in result.stdout and "total" in result.stdout
    assert "MACs per image" in result.stdout


def test_torch_import_info_and_sweep_end_to_end(tmp_path) -> None:
    import torch

    (tmp_path / "arch.py").write_text(ARCH)
    sys.path.insert(0, str(tmp_path))
    try:
        from arch import TinyMLP  # type: ignore[import-not-found]
    finally:
        sys.path.remove(str(tmp_path))
    torch.manual_seed(0)
    model = TinyMLP().eval()
    torch.save(model.state_dict(), tmp_path / "tiny.pt")
    out = tmp_path / "tiny.npz"
    result = _run("import", str(tmp_path / "tiny.pt"), "--format", "torch", "--arch",
                  f"{tmp_path / 'arch.py'}:TinyMLP", "--input-shape", "28,28,1",
                  "--input-scale", "1/255", "--dataset", "mnist", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "test accuracy on mnist" in result.stdout and out.is_file()
    info = _run("info", str(out))
    assert info.returncode == 0 and "importer     torch" in info.stdout
    sweep = _run("sweep", "--model", str(out), "--bers", "0,1e-3", "--draws", "2",
                 "--n-images", "200", "--workers", "1", "--out", str(tmp_path / "s.json"))
    assert sweep.returncode == 0, sweep.stderr
    saved = json.loads((tmp_path / "s.json").read_text())
    assert [p["ber"] for p in saved["points"]] == [0.0, 1e-3]
    # an existing output is not replaced without --force; nothing else is written
    again = _run("import", str(tmp_path / "tiny.pt"), "--format", "torch", "--arch",
                 f"{tmp_path / 'arch.py'}:TinyMLP", "--input-shape", "28,28,1",
                 "--out", str(out))
    _one_line_error(again, "exists; give --force")
    # an unsupported layer names itself; nothing is written
    torch.save(model.state_dict(), tmp_path / "relu.pt")
    refused = _run("import", str(tmp_path / "relu.pt"), "--format", "torch", "--arch",
                   f"{tmp_path / 'arch.py'}:WithRelu", "--input-shape", "28,28,1",
                   "--out", str(tmp_path / "relu.npz"))
    _one_line_error(refused, "operation relu")
    assert not (tmp_path / "relu.npz").exists()


def test_finn_import_of_the_published_cnv(tmp_path) -> None:
    if not default_cnv_folder().is_dir():
        pytest.skip("BNN-PYNQ's CNV W1A1 files are not on this machine")
    out = tmp_path / "cnv.npz"
    result = _run("import", str(default_cnv_folder()), "--format", "finn", "--no-accuracy",
                  "--out", str(out))
    assert result.returncode == 0, result.stderr
    info = _run("info", str(out))
    assert "conv 3x3, padding 0, pool 2x2" in info.stdout
    assert "1,542,848" in info.stdout  # binary weights of CNV


def test_bad_inputs_are_one_line_errors(tmp_path) -> None:
    out = tmp_path / "out.npz"
    (tmp_path / "cut.onnx").write_bytes(b"\x08\x07\x12\x04abc")
    with open(tmp_path / "foreign.pt", "wb") as stream:
        np.savez(stream, a=np.zeros(3))
    (tmp_path / "arch.py").write_text(ARCH)
    (tmp_path / "finn").mkdir()
    (tmp_path / "finn" / "0-0-weights.bin").write_bytes(b"\0" * 40)
    cases = [
        (("import", str(tmp_path / "cut.onnx"), "--format", "onnx", "--input-shape",
          "28,28,1"), "is not a valid ONNX model"),
        (("import", str(tmp_path / "foreign.pt"), "--format", "torch", "--arch",
          f"{tmp_path / 'arch.py'}:TinyMLP", "--input-shape", "28,28,1"),
         "not a torch state_dict"),
        (("import", str(tmp_path / "none.pt"), "--format", "torch", "--input-shape",
          "28,28,1"), "needs --arch"),
        (("import", str(tmp_path / "finn"), "--format", "finn"), "neurons per PE"),
        (("import", str(tmp_path / "finn"), "--format", "finn", "--topology", "vgg"),
         "unknown topology"),
        (("info", str(tmp_path / "missing.npz")), "does not exist"),
    ]
    for args, needle in cases:
        _one_line_error(_run(*args, "--out", str(out)) if args[0] == "import"
                        else _run(*args), needle)
        assert not out.exists()


def test_lifetime_command(tmp_path) -> None:
    out = tmp_path / "life.json"
    result = _run("lifetime", "--model", "mnist-mlp", "--deltas", "28,45", "--points", "5",
                  "--last", "1", "--draws", "2", "--n-images", "300", "--workers", "1",
                  "--out", str(out))
    assert result.returncode == 0, result.stderr
    saved = json.loads(out.read_text())
    low, high = saved["curves"]
    assert low["delta"] == 28 and high["delta"] == 45
    assert low["refresh_interval"] < high["refresh_interval"]
    assert high["interval_is_lower_bound"] and "or longer" in result.stdout
    assert len(low["points"]) == 5 and saved["refresh_pulse"]["energy_per_bit"] > 0
    assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
    _one_line_error(_run("lifetime", "--spread", "huge", "--out", str(out)),
                    "unknown spread")


def test_energy_command_with_and_without_spread(tmp_path) -> None:
    outs = []
    for spread in ("none", "pmtj-array"):
        out = tmp_path / f"energy-{spread}.json"
        result = _run("energy", "--model", "mnist-mlp", "--currents-ua", "84,100,150",
                      "--draws", "2", "--n-images", "300", "--workers", "1", "--spread",
                      spread, "--out", str(out))
        assert result.returncode == 0, result.stderr
        assert "point drop at" in result.stdout
        assert out.with_suffix(".png").read_bytes()[:4] == b"\x89PNG"
        outs.append(json.loads(out.read_text()))
    nominal, varied = (o["points"] for o in outs)
    assert outs[1]["config"]["spread"] == "pmtj-array"
    assert [p["energy_per_bit"] for p in nominal] == [p["energy_per_bit"] for p in varied]
    assert all(a["wer_p2ap"] != b["wer_p2ap"] for a, b in zip(nominal, varied, strict=True))
    _one_line_error(_run("energy", "--spread", "huge", "--out", str(tmp_path / "e.json")),
                    "unknown spread")
    # both energy sweeps in one figure, told apart by their spread, clean lines from the files
    assert outs[0]["clean_accuracy"] == outs[1]["clean_accuracy"] > 0.9
    figure = tmp_path / "both.png"
    plot = _run("plot", str(tmp_path / "energy-none.json"),
                str(tmp_path / "energy-pmtj-array.json"), "--out", str(figure))
    assert plot.returncode == 0, plot.stderr
    assert figure.read_bytes()[:4] == b"\x89PNG"
