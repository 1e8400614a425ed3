"""An interrupted training resumed from its checkpoint ends exactly like an uninterrupted one."""

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
