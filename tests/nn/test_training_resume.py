"""An interrupted training resumed from its checkpoint ends exactly like an uninterrupted one."""

import importlib
import re

import torch

from mrambnn.datasets import Dataset
from mrambnn.nn import TrainConfig, train


def test_resume_gives_identical_weights(mnist, tmp_path) -> None:
    small = Dataset(name="mnist", x_train=mnist.x_train[:1500], y_train=mnist.y_train[:1500],
                    x_test=mnist.x_test[:300], y_test=mnist.y_test[:300], classes=mnist.classes)
    config = TrainConfig(model="mlp-tiny", epochs=3, seed=5, batch_size=50)
    straight, history = train(config, small)
    checkpoint = tmp_path / "run.pt"
    train(config, small, checkpoint=checkpoint, stop_after=1)
    resumed, resumed_history = train(config, small, checkpoint=checkpoint)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert [h["test_accuracy"] for h in history] == [h["test_accuracy"] for h in resumed_history]


def test_batchnorm_recalibration_gives_exact_training_statistics(mnist) -> None:
    from mrambnn.nn import build_model
    from mrambnn.nn.train import images_to_tensor, recalibrate_batchnorm

    torch.manual_seed(0)
    model = build_model("mlp-tiny", (28, 28, 1), 10)
    images = mnist.x_train[:1000]
    recalibrate_batchnorm(model, images, batch_size=250)  # equal batches: exact mean
    first_linear, first_bn = model[0], model[1]
    with torch.no_grad():
        a = first_linear(images_to_tensor(images, model))
    torch.testing.assert_close(first_bn.running_mean, a.mean(0), rtol=1e-4, atol=0.5)
    assert first_bn.momentum == 0.1 and not model.training


def test_second_stage_starts_from_the_first_stage_weights(mnist, tmp_path) -> None:
    import pytest

    small = Dataset(name="mnist", x_train=mnist.x_train[:1000], y_train=mnist.y_train[:1000],
                    x_test=mnist.x_test[:200], y_test=mnist.y_test[:200], classes=mnist.classes)
    first = tmp_path / "stage1.pt"
    stage1, _ = train(TrainConfig(model="mlp-tiny", epochs=1, seed=5, batch_size=50), small,
                      checkpoint=first)
    second = TrainConfig(model="mlp-tiny", epochs=2, seed=6, lr=1e-3, lr_final=1e-4,
                         batch_size=50, init_from=str(first))
    start, _ = train(second, small, stop_after=0)  # initialised, not trained yet
    for a, b in zip(stage1.state_dict().values(), start.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    trained, history = train(second, small)
    assert len(history) == 2
    assert any(not torch.equal(a, b) for a, b in zip(
        stage1.state_dict().values(), trained.state_dict().values(), strict=True))
    with pytest.raises(ValueError, match="mlp-3x1024"):
        train(TrainConfig(model="mlp-3x1024", epochs=1, init_from=str(first)), small)
    with pytest.raises(ValueError, match="no checkpoint"):
        train(TrainConfig(model="mlp-tiny", epochs=1, init_from=str(tmp_path / "x.pt")), small)
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a training checkpoint"):
        train(TrainConfig(model="mlp-tiny", epochs=1, init_from=str(tmp_path / "bad.pt")), small)


def test_weight_averaging_resumes_and_averages_every_step(mnist, tmp_path) -> None:
    small = Dataset(name="mnist", x_train=mnist.x_train[:1000], y_train=mnist.y_train[:1000],
                    x_test=mnist.x_test[:200], y_test=mnist.y_test[:200], classes=mnist.classes)
    config = TrainConfig(model="mlp-tiny", epochs=3, seed=4, batch_size=100, average_from=2)
    lines: list[str] = []
    straight, _ = train(config, small, progress=lines.append)
    assert "(20 steps)" in lines[-1]  # epochs 2 and 3, 10 steps each
    checkpoint = tmp_path / "run.pt"
    train(config, small, checkpoint=checkpoint, stop_after=2)  # stopped inside the window
    resumed, _ = train(config, small, checkpoint=checkpoint)
    again, _ = train(config, small, checkpoint=checkpoint)  # resumed after the last epoch
    for model in (resumed, again):
        for a, b in zip(straight.state_dict().values(), model.state_dict().values(),
                        strict=True):
            assert torch.equal(a, b)
    last, _ = train(TrainConfig(model="mlp-tiny", epochs=3, seed=4, batch_size=100), small)
    assert not torch.equal(straight[0].weight, last[0].weight)  # the average, not the end


def test_weight_averaging_window_is_checked() -> None:
    import pytest

    with pytest.raises(ValueError, match="average_from"):
        TrainConfig(model="mlp-tiny", epochs=3, average_from=4)


def test_progress_says_the_time_left_within_and_after_epochs(mnist, tmp_path,
                                                           monkeypatch) -> None:
    training = importlib.import_module("mrambnn.nn.train")  # the module, not train()
    small = Dataset(name="mnist", x_train=mnist.x_train[:600], y_train=mnist.y_train[:600],
                    x_test=mnist.x_test[:100], y_test=mnist.y_test[:100], classes=mnist.classes)
    monkeypatch.setattr(training, "PROGRESS_SECONDS", 0.0)  # a line after every batch
    lines: list[str] = []
    checkpoint = tmp_path / "run.pt"
    config = TrainConfig(model="mlp-tiny", epochs=3, batch_size=200)
    train(config, small, checkpoint=checkpoint, stop_after=1, progress=lines.append)
    assert lines[0].startswith("epoch 1/3: 33 % of its batches, loss ")
    assert re.fullmatch(r"epoch 1/3 loss \d\.\d{4} test \d+\.\d\d % \(\d+ s; .+ left\)",
                        lines[3])
    lines.clear()
    train(config, small, checkpoint=checkpoint, progress=lines.append)  # resumed at epoch 2
    assert lines[0].startswith("epoch 2/3: 33 %") and lines[-1].endswith("; 0 s left)")
    assert training._duration(7300) == "2 h 01 min" and training._duration(420) == "7 min"
