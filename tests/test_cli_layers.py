"""`mrambnn sensitivity`, `mrambnn protect` and `mrambnn train --train-ber` end to end."""

import json
import subprocess
import sys

from mrambnn.models import load_model


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrambnn.cli", *args], capture_output=True,
                          text=True)


def test_sensitivity_and_protect_commands(tmp_path) -> None:
    common = ("--model", "mnist-mlp", "--bers", "1e-2,1e-1", "--draws", "2", "--n-images",
              "200", "--workers", "1", "--tolerance", "1", "--out", str(tmp_path))
    sensitivity = _run("sensitivity", *common)
    assert sensitivity.returncode == 0, sensitivity.stderr
    assert "layer 3 (dense, 10,240 weights" in sensitivity.stdout
    table = json.loads((tmp_path / "sensitivity-mnist-mlp.json").read_text())
    assert [row["layer"] for row in table["layers"]] == [0, 1, 2, 3]
    assert (tmp_path / "sensitivity-mnist-mlp.png").read_bytes()[:4] == b"\x89PNG"
    protect = _run("protect", *common, "--check-draws", "2", "--check-images", "200")
    assert protect.returncode == 0, protect.stderr
    assert ("best uniform / per-layer: system energy" in protect.stdout
            or "no verified assignment" in protect.stdout)
    result = json.loads((tmp_path / "protection-mnist-mlp.json").read_text())
    assert result["kind"] == "protection" and result["device"] == "pmtj-40nm"
    assert result["per_layer_rounds"] and result["uniform_rounds"]
    if not any(r["passed"] for r in result["per_layer_rounds"]):
        return  # 2 draws of 200 images: a wide interval may reject every assignment
    budget = _run("budget", "--model", "mnist-mlp", "--sweep",
                  str(tmp_path / "mnist-mlp-uniform.json"), "--tolerance", "5",
                  "--assignment", str(tmp_path / "protection-mnist-mlp.json"),
                  "--out", str(tmp_path / "budget"))
    assert budget.returncode == 0, budget.stderr
    assert "best ECC / assignment: energy" in budget.stdout
    wrong = _run("budget", "--model", "mnist-mlp", "--sweep",
                 str(tmp_path / "mnist-mlp-uniform.json"), "--tolerance", "5",
                 "--assignment", str(tmp_path / "mnist-mlp-uniform.json"),
                 "--out", str(tmp_path / "budget"))
    assert wrong.returncode != 0 and "not a protection result" in wrong.stderr
    bad = _run("protect", *common, "--objective", "speed")
    assert bad.returncode != 0 and "invalid choice" in bad.stderr


def test_train_refuses_two_kinds_of_training_faults(tmp_path) -> None:
    result = _run("train", "--arch", "mlp-tiny", "--train-ber", "0.01", "--train-wer",
                  "0.01,0.02", "--epochs", "1", "--out", str(tmp_path / "m.npz"))
    assert result.returncode != 0 and "Traceback" not in result.stderr
    assert "not both" in result.stderr
    wer = _run("train", "--train-wer", "0.01", "--out", str(tmp_path / "m.npz"))
    assert wer.returncode != 0 and "AP2P,P2AP" in wer.stderr


def test_train_recalibrates_batchnorm_for_the_memory_it_will_run_in(tmp_path) -> None:
    out = tmp_path / "m.npz"
    result = _run("train", "--arch", "mlp-tiny", "--epochs", "1", "--train-ber", "0.05",
                  "--recalibrate-ber", "0.05", "--out", str(out))
    assert result.returncode == 0, result.stderr
    meta = load_model(out).metadata
    assert meta["batchnorm_recalibrated"] and "read at BER 0.05" in meta["batchnorm_statistics"]
    assert "--recalibrate-ber 0.05" in meta["command"]
    bad = _run("train", "--arch", "mlp-tiny", "--recalibrate-ber", "0.7", "--out", str(out))
    assert bad.returncode != 0 and "Traceback" not in bad.stderr
    assert "--recalibrate-ber must be in [0, 0.5]" in bad.stderr


def test_train_in_pieces_with_stop_after(tmp_path) -> None:
    out, checkpoint = tmp_path / "m.npz", tmp_path / "m.pt"
    common = ("train", "--arch", "mlp-tiny", "--epochs", "2", "--checkpoint", str(checkpoint),
              "--out", str(out))
    first = _run(*common, "--stop-after", "1")
    assert first.returncode == 0, first.stderr
    assert "stopped after epoch 1 of 2" in first.stdout
    assert checkpoint.is_file() and not out.exists()
    second = _run(*common)
    assert second.returncode == 0, second.stderr
    assert "epoch 1/2" not in second.stderr and "epoch 2/2" in second.stderr
    assert len(load_model(out).metadata["history"]) == 2
    alone = _run("train", "--arch", "mlp-tiny", "--stop-after", "1", "--out", str(out))
    assert alone.returncode != 0 and "--stop-after needs --checkpoint" in alone.stderr
