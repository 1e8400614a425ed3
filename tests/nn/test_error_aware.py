"""Error-aware training: weight flips injected in the stored binary weights while training,
and fine-tuning that starts from a packed network."""

import importlib

import numpy as np
import pytest
import torch
from scipy import stats

from mrambnn.datasets import Dataset
from mrambnn.engine import predict
from mrambnn.models import load_model
from mrambnn.nn import TrainConfig, build_model, export_packed_net, train
from mrambnn.nn.layers import BinaryLinear, StoredWeightFaults, binary_layers
from mrambnn.nn.models import images_to_tensor
from mrambnn.nn.warm_start import WARM_START_MAGNITUDE, load_packed_weights


def _small(mnist, n_train: int = 1000) -> Dataset:
    return Dataset(name="mnist", x_train=mnist.x_train[:n_train], y_train=mnist.y_train[:n_train],
                   x_test=mnist.x_test[:200], y_test=mnist.y_test[:200], classes=mnist.classes)


@pytest.mark.parametrize(("p_plus", "p_minus"), [(1e-2, 1e-2), (3e-2, 0.0), (2e-3, 5e-2)])
def test_injected_flip_rate_matches_the_training_rates(p_plus, p_minus) -> None:
    layer = BinaryLinear(400, 500)
    layer.faults = StoredWeightFaults(p_plus=p_plus, p_minus=p_minus,
                                      generator=torch.Generator().manual_seed(3))
    signs = torch.where(layer.weight >= 0, 1.0, -1.0)
    plus = int((signs > 0).sum())
    flipped_plus = flipped_minus = 0
    passes = 20
    for _ in range(passes):  # what the layer multiplies with: the weights as read
        read = layer(torch.eye(400)).T.detach()
        flipped_plus += int(((read != signs) & (signs > 0)).sum())
        flipped_minus += int(((read != signs) & (signs < 0)).sum())
    minus = signs.numel() - plus
    for flips, n, p in ((flipped_plus, plus * passes, p_plus),
                        (flipped_minus, minus * passes, p_minus)):
        if p == 0:
            assert flips == 0
        else:  # two-sided binomial test at 1e-4: fails by chance once in 10,000 runs
            assert stats.binomtest(flips, n, p).pvalue > 1e-4, (flips, n, p)
    assert layer.faults.read == signs.numel() * passes


def test_flips_leave_the_straight_through_gradient_unchanged() -> None:
    torch.manual_seed(0)
    layer = BinaryLinear(64, 32)
    x = torch.randn(8, 64)
    layer(x).sum().backward()
    clean_grad = layer.weight.grad.clone()
    layer.weight.grad = None
    layer.faults = StoredWeightFaults(p_plus=0.0, p_minus=0.0,
                                      generator=torch.Generator().manual_seed(1))
    out = layer(x)
    out.sum().backward()
    assert torch.equal(layer.weight.grad, clean_grad)  # p = 0: identical to no faults
    layer.weight.grad = None
    layer.faults = StoredWeightFaults(p_plus=0.5, p_minus=0.5,
                                      generator=torch.Generator().manual_seed(1))
    layer(x).sum().backward()
    # d(sum)/dW = x summed over the batch for every read value, in the STE window
    window = (layer.weight.abs() <= 1).float()
    torch.testing.assert_close(layer.weight.grad, x.sum(0).expand(32, 64) * window)
    layer.eval()
    torch.testing.assert_close(layer(x), x @ torch.where(layer.weight >= 0, 1.0, -1.0).T)


def _same_weights(a: torch.nn.Module, b: torch.nn.Module) -> bool:
    return all(torch.equal(x, y) for x, y in
               zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_training_with_flips_at_rate_zero_equals_training_without(mnist, monkeypatch) -> None:
    training = importlib.import_module("mrambnn.nn.train")  # the module, not train()

    small = _small(mnist)
    config = TrainConfig(model="mlp-tiny", epochs=2, seed=3, batch_size=50)
    attached: list[StoredWeightFaults] = []
    original = training._attach_faults

    def zero_faults(model, config, epoch):  # the injection path, flipping nothing
        original(model, config, epoch)
        faults = StoredWeightFaults(p_plus=0.0, p_minus=0.0,
                                    generator=torch.Generator().manual_seed(epoch))
        for layer in binary_layers(model):
            layer.faults = faults
        attached.append(faults)
        return faults

    # One thread, and a control: training is chaotic (a last-bit difference in one step
    # changes the trained weights visibly), so the comparison is bitwise, and it is
    # meaningful only where two runs without faults agree bitwise themselves.
    threads = torch.get_num_threads()
    try:
        plain, plain_history = train(config, small, threads=1)
        control, _ = train(config, small, threads=1)
        monkeypatch.setattr(training, "_attach_faults", zero_faults)
        injected, history = train(config, small, threads=1)
    finally:
        torch.set_num_threads(threads)
    assert len(attached) == 2 and attached[0].read > 0 and attached[0].flipped == 0
    if not _same_weights(plain, control):
        pytest.skip("this platform's torch does not reproduce a training run bitwise")
    assert _same_weights(plain, injected)
    assert [h["test_accuracy"] for h in history] == [h["test_accuracy"] for h in plain_history]


def test_error_aware_training_flips_at_its_rate_and_resumes(mnist, tmp_path) -> None:
    small = _small(mnist)
    config = TrainConfig(model="mlp-tiny", epochs=2, seed=3, batch_size=50, train_ber=0.02)
    straight, history = train(config, small)
    for record in history:
        assert record["weights_read_inverted"] == pytest.approx(0.02, rel=0.05)
    checkpoint = tmp_path / "run.pt"
    train(config, small, checkpoint=checkpoint, stop_after=1)
    resumed, _ = train(config, small, checkpoint=checkpoint)
    for a, b in zip(straight.state_dict().values(), resumed.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    plain, _ = train(TrainConfig(model="mlp-tiny", epochs=2, seed=3, batch_size=50), small)
    assert not torch.equal(plain[0].weight, straight[0].weight)
    assert all(layer.faults is None for layer in binary_layers(straight))


def test_write_failure_training_rates() -> None:
    random_prior = TrainConfig(train_wer_ap2p=0.02, train_wer_p2ap=0.004)
    assert random_prior.stored_flip_rates() == (0.01, 0.002)
    reset = TrainConfig(train_wer_ap2p=0.02, train_wer_p2ap=0.004, train_prior="reset")
    assert reset.stored_flip_rates() == (0.02, 0.0)
    assert TrainConfig(train_ber=1e-3).stored_flip_rates() == (1e-3, 1e-3)
    assert not TrainConfig().error_aware
    with pytest.raises(ValueError, match="not both"):
        TrainConfig(train_ber=1e-3, train_wer_ap2p=1e-3)
    with pytest.raises(ValueError, match="train_ber"):
        TrainConfig(train_ber=1.5)
    with pytest.raises(ValueError, match="train_prior"):
        TrainConfig(train_wer_ap2p=0.1, train_prior="previous")


@pytest.mark.parametrize("name", ["mnist-mlp", "fashion-conv", "cifar-vgg"])
def test_warm_start_reproduces_the_packed_network(name) -> None:
    net = load_model(name)
    arch = net.metadata["architecture"]
    rng = np.random.default_rng(0)
    calibration = rng.integers(0, 256, size=(300, *net.input_shape), dtype=np.uint8)
    model = load_packed_weights(build_model(arch, net.input_shape, net.n_classes), net,
                                calibration)
    again = export_packed_net(model, net.input_shape)
    for before, after in zip(net.layers, again.layers, strict=True):
        assert np.array_equal(before.weight_words, after.weight_words)
        if hasattr(before.head, "threshold"):
            assert np.array_equal(before.head.threshold, after.head.threshold)
            assert np.array_equal(before.head.direction, after.head.direction)
        else:
            np.testing.assert_allclose(after.head.scale, before.head.scale, rtol=1e-6)
    images = rng.integers(0, 256, size=(200, *net.input_shape), dtype=np.uint8)
    assert np.array_equal(predict(net, images), predict(again, images))
    assert np.allclose(np.abs(model[0].weight.detach().numpy()), WARM_START_MAGNITUDE)


def test_fine_tuning_starts_from_a_packed_file(mnist, tmp_path) -> None:
    from mrambnn.engine import save_packed_net

    small = _small(mnist)
    first, _ = train(TrainConfig(model="mlp-tiny", epochs=1, seed=5, batch_size=50), small)
    packed = export_packed_net(first, (28, 28, 1), {"architecture": "mlp-tiny"})
    path = tmp_path / "tiny.npz"
    save_packed_net(packed, path)
    tuned = TrainConfig(model="mlp-tiny", epochs=1, seed=6, lr=1e-3, lr_final=1e-4,
                        batch_size=50, init_from=str(path), train_ber=0.01)
    start, _ = train(tuned, small, stop_after=0)
    assert np.array_equal(predict(export_packed_net(start, (28, 28, 1)), small.x_test),
                          predict(packed, small.x_test))
    with pytest.raises(ValueError, match="mlp-3x1024"):
        train(TrainConfig(model="mlp-3x1024", epochs=1, init_from=str(path)), small)
    (tmp_path / "bad.npz").write_bytes(b"not a model")
    with pytest.raises(ValueError, match="bad.npz"):
        train(TrainConfig(model="mlp-tiny", epochs=1, init_from=str(tmp_path / "bad.npz")),
              small)


def test_batchnorm_statistics_of_weights_read_from_a_faulty_memory(mnist) -> None:
    """Recalibrated with weights read from a faulty memory: with every weight read
    inverted, a first layer's pre-activations, hence their mean, change sign exactly;
    with every stored +1 read as -1, they are minus the sum of the inputs. Afterwards the
    weights read exactly again."""
    from mrambnn.nn.train import recalibrate_batchnorm

    torch.manual_seed(0)
    model = build_model("mlp-tiny", (28, 28, 1), 10)
    images = mnist.x_train[:1000]
    clean = recalibrate_batchnorm(model, images, batch_size=250)[1].running_mean.clone()
    inverted = recalibrate_batchnorm(model, images, batch_size=250,
                                     read_flips=(1.0, 1.0))[1].running_mean.clone()
    torch.testing.assert_close(inverted, -clean)
    all_minus = recalibrate_batchnorm(model, images, batch_size=250,
                                      read_flips=(1.0, 0.0))[1].running_mean.clone()
    with torch.no_grad():
        x = images_to_tensor(images, model).reshape(len(images), -1)
    torch.testing.assert_close(all_minus, torch.full_like(clean, -float(x.sum(1).mean())))
    assert all(layer.faults is None for layer in binary_layers(model))
    again = recalibrate_batchnorm(model, images, batch_size=250)[1].running_mean
    assert torch.equal(again, clean)
