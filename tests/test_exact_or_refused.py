"""Exact or refused: every case here was silently wrong, lost a user's output or ended in a
traceback; each now gives the exact answer or a one-line error (numbers: the items of
the checklist in the module's history)."""

import json
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from mrambnn import cli
from mrambnn.bits import pack_signs
from mrambnn.cli import arguments, commands
from mrambnn.datasets import DataError, load_dataset
from mrambnn.engine import Affine, Conv, Dense, PackedNet, Threshold, forward, predict
from mrambnn.engine.serialize import ModelFileError, load_packed_net, save_packed_net
from mrambnn.engine.threads import cores
from mrambnn.experiments import SweepConfig, SweepResult, run_ber_sweep
from mrambnn.experiments.deploy import corrupt_net
from mrambnn.experiments.outputs import claim_output
from mrambnn.experiments.stats import mean_interval
from mrambnn.memory import BitFlip
from mrambnn.memory.cost import CostConfig, load_cost_config
from mrambnn.models import load_model
from mrambnn.montecarlo import DrawEvaluator
from mrambnn.nn import SignActivation, export_packed_net
from mrambnn.nn.layers import BinaryConv2d, BinaryLinear


def _fails(argv: list[str], needle: str, capsys) -> None:  # type: ignore[no-untyped-def]
    """The CLI exits non-zero with one line on stderr that names ``needle``."""
    assert cli.main(argv) != 0
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "mrambnn: error:" in line]
    assert "Traceback" not in err and len(errors) == 1 and needle in errors[0], err


def _tiny_bn(n: int, gamma: float, beta: float, dims: int = 1) -> nn.Module:
    bn = (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(n).double().eval()
    with torch.no_grad():
        bn.weight.fill_(gamma)
        bn.bias.fill_(beta)
    return bn


# 1. a BatchNorm with a tiny scale folds to a threshold beyond int64: never wrapped
@pytest.mark.parametrize("conv", [False, True])
def test_tiny_gamma_threshold_is_clipped_not_wrapped(conv: bool) -> None:
    torch.manual_seed(0)
    if conv:
        model = nn.Sequential(BinaryConv2d(1, 4, 3, padding=1), _tiny_bn(4, 1e-20, -1.0, 2),
                              SignActivation(), nn.Flatten(), BinaryLinear(64, 3),
                              _tiny_bn(3, 1.0, 0.0))
    else:
        model = nn.Sequential(BinaryLinear(16, 4), _tiny_bn(4, 1e-20, -1.0), SignActivation(),
                              BinaryLinear(4, 3), _tiny_bn(3, 1.0, 0.0))
    net = export_packed_net(model.double(), (4, 4, 1))
    images = np.random.default_rng(0).integers(0, 256, (20, 4, 4, 1), dtype=np.uint8)
    _, hidden = forward(net, images, keep_hidden=True)
    assert not hidden[0].any()  # BatchNorm = -1 + 1e-20 (...) < 0: every bit -1, as torch


# 2. the general incremental path with thresholds beyond int32 (the 2^40 placeholder)
def test_general_path_with_unreachable_thresholds_equals_full() -> None:
    rng = np.random.default_rng(1)
    signs = lambda *shape: pack_signs(rng.choice(np.array([-1, 1], np.int8), shape))  # noqa: E731
    hidden_threshold = np.round(rng.normal(0, 5, 30)).astype(np.int64)
    hidden_threshold[:10] = [2**40, -(2**40)] * 5
    net = PackedNet(layers=(
        Conv(weight_words=signs(6, 3 * 3 * 8), in_shape=(4, 4, 8), filter_size=3, pool=True,
             integer_input=True, head=Threshold(threshold=np.zeros(6, np.int64),
                                                direction=np.ones(6, np.int8))),
        Dense(weight_words=signs(30, 24), in_features=24, integer_input=False,
              head=Threshold(threshold=hidden_threshold, direction=np.ones(30, np.int8))),
        Dense(weight_words=signs(4, 30), in_features=30, integer_input=False,
              head=Affine(scale=np.ones(4), offset=np.zeros(4)))), input_shape=(4, 4, 8),
        input_offset=128)
    images = rng.integers(0, 256, (60, 4, 4, 8), dtype=np.uint8)
    evaluator = DrawEvaluator(net, images)
    assert not evaluator.batched  # 72 inputs x 128: the general path
    draws = [corrupt_net(net, BitFlip(ber=b), rng=np.random.default_rng([d, 5])).weight_words
             for d, b in enumerate([0.01, 0.05, 0.1, 0.2])]
    full = np.stack([predict(net.with_weight_words(w), images) for w in draws])
    np.testing.assert_array_equal(evaluator.predict_many(draws, path="incremental"), full)


# 3. what the engine cannot evaluate is refused, naming the module
@pytest.mark.parametrize(("module", "needle"), [
    (BinaryConv2d(1, 4, 3, padding=0), "padding=(0, 0) (supported: (1, 1))"),
    (BinaryConv2d(1, 4, 3, padding=2), "padding=(2, 2)"),
    (nn.MaxPool2d(3, stride=2, padding=1), "only MaxPool2d(2)"),
])
def test_exporter_refuses_layouts_the_engine_cannot_do(module: nn.Module, needle: str) -> None:
    layers = ([BinaryConv2d(1, 4, 3, padding=1), module] if isinstance(module, nn.MaxPool2d)
              else [module])
    model = nn.Sequential(*layers, _tiny_bn(4, 1.0, 0.0, 2), SignActivation(), nn.Flatten(),
                          BinaryLinear(16, 3), _tiny_bn(3, 1.0, 0.0))
    with pytest.raises(TypeError, match="cannot export module") as error:
        export_packed_net(model, (4, 4, 1))
    assert needle in str(error.value)


# 4. a resumed sweep never serves another model's results
def test_resume_refuses_a_file_of_another_model(mnist, tmp_path) -> None:
    out = tmp_path / "sweep.json"
    config = SweepConfig(bers=(0.0, 1e-3), n_draws=2, n_images=100)
    mlp = load_model("mnist-mlp")
    run_ber_sweep(mlp, mnist.x_test, mnist.y_test, config, out=out)
    other = mlp.with_weight_words([w ^ np.uint64(1) for w in mlp.weight_words])
    with pytest.raises(ValueError, match="another model"):
        run_ber_sweep(other, mnist.x_test, mnist.y_test, config, out=out)
    with pytest.raises(ValueError, match="another test data"):
        run_ber_sweep(mlp, mnist.x_test[::-1], mnist.y_test[::-1], config, out=out)


def test_sweep_cli_refuses_to_mix_models(tmp_path, capsys) -> None:
    out = str(tmp_path / "s.json")
    common = ["--bers", "0,0.001", "--draws", "2", "--n-images", "50", "--out", out]
    assert cli.main(["sweep", "--model", "mnist-mlp", *common]) == 0
    _fails(["sweep", "--model", "fashion-conv", *common], "another", capsys)


# 5. images that are not uint8 pixels are refused
def test_float_images_are_refused(tmp_path) -> None:
    folder = tmp_path / "cifar"
    folder.mkdir()
    x = np.random.default_rng(0).random((4, 32, 32, 3), dtype=np.float32)
    for split in ("train", "test"):
        np.savez(folder / f"{split}.npz", x=x, y=np.arange(4, dtype=np.uint8))
    with pytest.raises(DataError, match="float32, expected uint8"):
        load_dataset("cifar10", folder)
    with pytest.raises(TypeError, match="uint8"):
        predict(load_model("cifar-vgg"), x)


# 6. values checked: a supply that cannot drive the pulse, TOML keys that would be
#    dropped, workloads that overflow, edited sweep files, a sweep of another model
def test_pulse_beyond_the_supply_is_refused(capsys) -> None:
    _fails(["wer", "--width-ns", "10", "--vdd", "0.1"], "drives at most", capsys)
    _fails(["wer", "--current-ua", "200", "--width-ns", "10", "--vdd", "0.1"],
           "drives at most", capsys)


def test_cost_files_and_values_that_would_mislead(tmp_path) -> None:
    file = tmp_path / "c.toml"
    file.write_text("reads_per_write = 10\n[cost]\nread_energy_per_bit = 1e-13\n")
    with pytest.raises(ValueError, match="reads_per_write beside the \\[cost\\] table"):
        load_cost_config(file)
    for bad in ({"reads_per_write": 1e308}, {"macro_data_bits": 0}, {"macro_data_bits": 1e300}):
        with pytest.raises(ValueError, match=next(iter(bad))):
            CostConfig(**bad)


@pytest.mark.parametrize("value", [None, 7.5, "0.9", True])
def test_edited_sweep_files_are_refused(value, tmp_path, capsys) -> None:
    config = SweepConfig(bers=(0.0, 1e-3), n_draws=2)
    data = {"kind": "ber_sweep", "config": config.__dict__ | {"bers": [0.0, 1e-3]},
            "model": {}, "points": [{"ber": 0.0, "accuracies": [0.9]},
                                    {"ber": 1e-3, "accuracies": [0.9, value]}]}
    path = tmp_path / "s.json"
    path.write_text(json.dumps(data))
    with pytest.raises(ValueError, match="not a valid BER sweep"):
        SweepResult.from_dict(json.loads(path.read_text()))
    _fails(["plot", str(path), "--out", str(tmp_path / "f.png")], "not a valid", capsys)


def test_budget_refuses_a_sweep_of_another_model(mnist, tmp_path, capsys) -> None:
    sweep = tmp_path / "mnist.json"
    run_ber_sweep(load_model("mnist-mlp"), mnist.x_test, mnist.y_test,
                  SweepConfig(bers=(0.0, 1e-4, 1e-3), n_draws=2, n_images=100), out=sweep)
    _fails(["budget", "--model", "fashion-conv", "--sweep", str(sweep), "--out",
            str(tmp_path / "b")], "another model", capsys)


# 7. intervals stay within [0, 1]; one draw gives no interval rather than a certain one
def test_intervals_respect_the_unit_interval_and_one_draw() -> None:
    two = mean_interval(np.array([0.9215, 1.0]), bounds=(0, 1))
    assert 0 <= two.low <= two.mean <= two.high <= 1
    one = mean_interval(np.array([0.9]))
    assert np.isnan(one.low) and np.isnan(one.high) and one.mean == 0.9


# 8. outputs: no CSV over the JSON, no unrelated file replaced, one writer at a time
def test_sweep_outputs_are_never_lost(mnist, tmp_path) -> None:
    net, config = load_model("mnist-mlp"), SweepConfig(bers=(0.0,), n_draws=1, n_images=20)
    args = (net, mnist.x_test, mnist.y_test, config)
    with pytest.raises(ValueError, match="must end in .json"):
        run_ber_sweep(*args, out=tmp_path / "res.csv")
    unrelated = tmp_path / "results.csv"
    unrelated.write_text("my own numbers\n")
    with pytest.raises(ValueError, match="did not write it"):
        run_ber_sweep(*args, out=tmp_path / "results.json")
    assert unrelated.read_text() == "my own numbers\n"
    run_ber_sweep(*args, out=tmp_path / "results.json", force=True)
    busy = tmp_path / "busy.json"
    held, release = threading.Event(), threading.Event()

    def hold() -> None:
        with claim_output(busy, suffix=".json"):
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    held.wait(10)
    try:
        with pytest.raises(ValueError, match="another run is writing"):
            run_ber_sweep(*args, out=busy)
    finally:
        release.set()
        holder.join()
    run_ber_sweep(*args, out=busy)  # free again once the first writer is done


# 9. training checks its outputs before it starts, and keeps the weights if saving fails
def test_train_refuses_an_unwritable_output_before_training(tmp_path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    _fails(["train", "--arch", "mlp-tiny", "--epochs", "1", "--out",
            str(blocker / "m.npz")], "cannot write into", capsys)


def test_train_keeps_the_model_when_the_final_save_fails(tmp_path, capsys, monkeypatch
                                                         ) -> None:
    real = commands.save_packed_net
    calls = {"n": 0}

    def failing_once(net, path):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise OSError(28, "No space left on device")
        return real(net, path)

    monkeypatch.setattr(commands, "save_packed_net", failing_once)
    status = cli.main(["train", "--arch", "mlp-tiny", "--epochs", "1", "--threads", "2",
                       "--out", str(tmp_path / "m.npz")])
    err = capsys.readouterr().err
    assert status == 2 and calls["n"] == 2 and "the trained model is saved in" in err
    spare = Path(err.split("the trained model is saved in ")[1].split()[0])
    assert load_packed_net(spare).metadata["architecture"] == "mlp-tiny"
    spare.unlink()


# 10. only regular files are read back
def test_a_device_as_output_is_refused(mnist, tmp_path) -> None:
    device = tmp_path / "out.json"
    device.symlink_to("/dev/full")
    with pytest.raises(ValueError, match="not a regular file"):
        run_ber_sweep(load_model("mnist-mlp"), mnist.x_test, mnist.y_test,
                      SweepConfig(bers=(0.0,), n_draws=1, n_images=5), out=device)


# 11. one-line errors instead of tracebacks
def test_unwritable_output_folders(tmp_path, capsys) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    sweep = tmp_path / "s.json"
    assert cli.main(["sweep", "--bers", "0", "--draws", "1", "--n-images", "10", "--out",
                     str(sweep)]) == 0
    capsys.readouterr()
    for argv in (["sweep", "--bers", "0", "--n-images", "10", "--out", str(blocker / "s.json")],
                 ["plot", str(sweep), "--out", str(blocker / "f.png")],
                 ["budget", "--sweep", str(sweep), "--out", str(blocker / "b")],
                 ["reproduce", "--out", str(blocker / "r")]):
        _fails(argv, "cannot write into", capsys)


def test_bad_checkpoint_and_bad_model_files(tmp_path, capsys) -> None:
    garbage = tmp_path / "c.pt"
    garbage.write_bytes(b"not a checkpoint")
    _fails(["train", "--arch", "mlp-tiny", "--epochs", "1", "--checkpoint", str(garbage),
            "--out", str(tmp_path / "m.npz")], "not a readable mrambnn training checkpoint",
           capsys)
    net = load_model("mnist-mlp")
    path = tmp_path / "offset.npz"
    save_packed_net(net, path)
    with zipfile.ZipFile(path) as archive:
        meta = json.loads(str(np.load(archive.open("meta.npy"))))
    meta["input_offset"] = 10**9
    arrays = dict(np.load(path))
    arrays["meta"] = np.array(json.dumps(meta))
    np.savez(path, **arrays)
    with pytest.raises(ModelFileError, match="input_offset must be in 0..255"):
        load_packed_net(path)
    huge = tmp_path / "huge.npz"
    header = np.lib.format.header_data_from_array_1_0(np.zeros(1, np.uint64))
    header["shape"] = (2**40,)
    with zipfile.ZipFile(huge, "w") as archive, archive.open("meta.npy", "w") as stream:
        np.lib.format.write_array_header_1_0(stream, header)
        stream.write(b"\0" * 64)
    with pytest.raises(ModelFileError, match="declares"):
        load_packed_net(huge)


@pytest.mark.parametrize("content", [{"kind": "ber_sweep"}, {"kind": "ber_sweep",
                                     "config": {}, "model": {}, "points": "none"}, [1, 2]])
def test_sweep_files_of_the_wrong_shape(content, tmp_path, capsys) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(content))
    _fails(["plot", str(path), "--out", str(tmp_path / "f.png")], "not a", capsys)


def test_cifar_batch_that_is_not_a_dict(tmp_path) -> None:
    import pickle
    import tarfile

    from mrambnn.datasets.cifar_archive import read_cifar10_python_archive

    archive = tmp_path / "cifar-10-python.tar.gz"
    blob = pickle.dumps([1, 2, 3])
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = len(blob)
        import io

        tar.addfile(info, io.BytesIO(blob))
    with pytest.raises(DataError, match="not a dict"):
        read_cifar10_python_archive(archive)


def test_counts_must_be_positive_and_workers_are_capped(capsys) -> None:
    for argv in (["train", "--threads", "0", "--out", "m.npz"],
                 ["sweep", "--workers", "0"], ["sweep", "--workers", "-3"],
                 ["sweep", "--draws", "0"]):
        with pytest.raises(SystemExit):
            cli.main(argv)
        assert "must be >= 1" in capsys.readouterr().err
    assert arguments.workers("300") == cores()


def test_many_draws_stream_through_in_blocks(make_toy, monkeypatch) -> None:
    import mrambnn.experiments.draws as driver

    net, images, labels = make_toy(64, 40)
    config = SweepConfig(bers=(0.05,), n_draws=11)
    whole = run_ber_sweep(net, images, labels, config).points[0].accuracies
    sizes = []
    real = DrawEvaluator.accuracies

    def counting(self, draws, labels, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(len(draws))
        return real(self, draws, labels, **kwargs)

    monkeypatch.setattr(driver, "DRAWS_PER_BLOCK", 4)
    monkeypatch.setattr(DrawEvaluator, "accuracies", counting)
    assert run_ber_sweep(net, images, labels, config).points[0].accuracies == whole
    assert sizes == [4, 4, 3]
