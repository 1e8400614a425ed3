"""Oracle: the packed engine equals the torch model, hidden activations bit for bit.

The torch model is evaluated in float64 so that its own rounding cannot create ties at
a threshold (float32 predictions are checked too on the trained model).
"""

import numpy as np
import pytest
import torch

from mrambnn.datasets import Dataset
from mrambnn.engine import forward, load_packed_net, predict, save_packed_net
from mrambnn.nn import SignActivation, TrainConfig, build_model, export_packed_net, train
from mrambnn.nn.train import images_to_tensor


def _torch_forward(model: torch.nn.Module, images: np.ndarray, dtype=torch.float64):
    model = model.to(dtype).eval()
    hidden = []
    with torch.no_grad():
        h = images_to_tensor(images, model).to(dtype)
        for module in model:
            h = module(h)
            if isinstance(module, SignActivation):
                hidden.append(h.numpy() > 0)
    model.to(torch.float32)
    return h.numpy(), hidden


def _randomise_batchnorm(model: torch.nn.Module, generator: torch.Generator) -> None:
    """BatchNorm statistics with negative, zero and positive scales (all fold cases)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm1d):
                n = module.num_features
                module.weight.copy_(torch.randn(n, generator=generator))
                module.weight[::7] = 0.0
                module.bias.copy_(torch.randn(n, generator=generator))
                module.running_mean.copy_(20 * torch.randn(n, generator=generator))
                module.running_var.copy_(50 * torch.rand(n, generator=generator) + 1)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_model_matches_torch(seed: int) -> None:
    torch.manual_seed(seed)
    model = build_model("mlp-tiny", (28, 28, 1), 10)
    _randomise_batchnorm(model, torch.Generator().manual_seed(seed))
    images = np.random.default_rng(seed).integers(0, 256, (500, 28, 28, 1), dtype=np.uint8)
    net = export_packed_net(model, (28, 28, 1))
    scores, hidden = forward(net, images, keep_hidden=True)
    torch_scores, torch_hidden = _torch_forward(model, images)
    for ours, theirs in zip(hidden, torch_hidden, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_allclose(scores, torch_scores, rtol=1e-12, atol=1e-9)
    np.testing.assert_array_equal(scores.argmax(1), torch_scores.argmax(1))


@pytest.fixture(scope="module")
def trained(mnist):
    small = Dataset(name="mnist", x_train=mnist.x_train[:4000], y_train=mnist.y_train[:4000],
                    x_test=mnist.x_test, y_test=mnist.y_test, classes=mnist.classes)
    torch.set_num_threads(2)
    model, _ = train(TrainConfig(model="mlp-tiny", epochs=1, seed=3), small)
    return model


def test_trained_model_matches_torch_on_whole_test_set(trained, mnist, tmp_path) -> None:
    net = export_packed_net(trained, (28, 28, 1), {"dataset": "mnist"})
    save_packed_net(net, tmp_path / "tiny.npz")
    net = load_packed_net(tmp_path / "tiny.npz")
    scores, hidden = forward(net, mnist.x_test, keep_hidden=True)
    torch_scores, torch_hidden = _torch_forward(trained, mnist.x_test)
    for ours, theirs in zip(hidden, torch_hidden, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(predict(net, mnist.x_test), torch_scores.argmax(1))
    float32_scores, _ = _torch_forward(trained, mnist.x_test, dtype=torch.float32)
    np.testing.assert_array_equal(predict(net, mnist.x_test), float32_scores.argmax(1))
    assert (predict(net, mnist.x_test) == mnist.y_test).mean() > 0.5  # it did learn


def _randomise_all_batchnorm(model: torch.nn.Module, generator: torch.Generator) -> None:
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                n = module.num_features
                module.weight.copy_(torch.randn(n, generator=generator))
                module.weight[::5] *= -1
                module.weight[::11] = 0.0
                module.bias.copy_(torch.randn(n, generator=generator))
                module.running_mean.copy_(5 * torch.randn(n, generator=generator))
                module.running_var.copy_(20 * torch.rand(n, generator=generator) + 1)


def _torch_conv_forward(model, images):
    """Hidden outputs (NHWC bits after conv blocks, (N, out) after dense) and scores."""
    model = model.double().eval()
    hidden = []
    with torch.no_grad():
        h = images_to_tensor(images, model).double()
        for module in model:
            h = module(h)
            if isinstance(module, SignActivation):
                bits = h.numpy() > 0
                hidden.append(bits.transpose(0, 2, 3, 1) if bits.ndim == 4 else bits)
    model.float()
    return h.numpy(), hidden


@pytest.mark.parametrize(("name", "shape", "seed"), [("conv-tiny", (8, 8, 3), 0),
                                                     ("conv-tiny", (6, 10, 1), 1),
                                                     ("conv-small", (28, 28, 1), 2)])
def test_conv_model_matches_torch(name, shape, seed) -> None:
    """Padding (borders), pooling with both BatchNorm signs, thresholds, flatten order."""
    torch.manual_seed(seed)
    model = build_model(name, shape, 10)
    _randomise_all_batchnorm(model, torch.Generator().manual_seed(seed))
    images = np.random.default_rng(seed).integers(0, 256, (64, *shape), dtype=np.uint8)
    net = export_packed_net(model, shape)
    scores, hidden = forward(net, images, keep_hidden=True)
    torch_scores, torch_hidden = _torch_conv_forward(model, images)
    assert len(hidden) == len(torch_hidden)
    for ours, theirs in zip(hidden, torch_hidden, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_allclose(scores, torch_scores, rtol=1e-12, atol=1e-9)


def test_trained_conv_model_matches_torch(mnist, tmp_path) -> None:
    small = Dataset(name="mnist", x_train=mnist.x_train[:1000], y_train=mnist.y_train[:1000],
                    x_test=mnist.x_test[:1000], y_test=mnist.y_test[:1000], classes=mnist.classes)
    model, _ = train(TrainConfig(model="conv-tiny", epochs=1, seed=2, max_shift=0), small)
    save_packed_net(export_packed_net(model, (28, 28, 1)), tmp_path / "c.npz")
    net = load_packed_net(tmp_path / "c.npz")
    scores, hidden = forward(net, small.x_test, keep_hidden=True)
    torch_scores, torch_hidden = _torch_conv_forward(model, small.x_test)
    for ours, theirs in zip(hidden, torch_hidden, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    np.testing.assert_array_equal(scores.argmax(1), torch_scores.argmax(1))
