"""Users' torch BNNs, written in plain torch (not with mrambnn's classes) and trained here
for an epoch: the imported network gives the torch model's (float64) predictions and hidden
bits on real test images; what cannot be imported exactly is a one-line refusal."""

from fractions import Fraction

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from mrambnn.datasets import load_dataset
from mrambnn.engine import forward, save_packed_net
from mrambnn.nn.importer import TorchImportError, import_torch, import_torch_state_dict


def _ste(x: torch.Tensor) -> torch.Tensor:
    """sign(x) forward, identity gradient (training only)."""
    return x + (torch.sign(x) - x).detach()


class BinarizeLinear(nn.Linear):
    """BinaryNet.pytorch's layer: sign of the weights, and of the input beyond the
    784-pixel first layer; a real bias."""

    def forward(self, input: torch.Tensor) -> torch.Tensor:
        if input.size(1) != 784:
            input = _ste(input)
        return F.linear(input, _ste(self.weight), self.bias)


class BinaryNetMLP(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.bn1, self.htanh1 = BinarizeLinear(784, 256), nn.BatchNorm1d(256), \
            nn.Hardtanh()
        self.fc2, self.bn2, self.htanh2 = BinarizeLinear(256, 256), nn.BatchNorm1d(256), \
            nn.Hardtanh()
        self.fc3, self.bn3 = BinarizeLinear(256, 10), nn.BatchNorm1d(10)
        self.logsoftmax = nn.LogSoftmax(dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.view(-1, 28 * 28)
        x = self.htanh1(self.bn1(self.fc1(x)))
        x = self.htanh2(self.bn2(self.fc2(x)))
        return self.logsoftmax(self.bn3(self.fc3(x)))


class SignConv(nn.Conv2d):
    """Plain functional code: torch.sign of the weights (a straight-through estimator
    while training)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = _ste(self.weight) if self.training else torch.sign(self.weight)
        return F.conv2d(x, w, None, self.stride, self.padding)


class SignLinear(nn.Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = _ste(self.weight) if self.training else torch.sign(self.weight)
        return F.linear(x, w)


def _sign(x: torch.Tensor, training: bool) -> torch.Tensor:
    return _ste(x) if training else torch.sign(x)


class VGGStyle(nn.Module):
    """conv-bn-sign, conv-pool-bn-sign, 'valid' conv-bn-sign, conv-bn-sign-pool,
    flatten, dense-bn-sign, dense-bn: pooling before and after the sign."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1, self.bn1 = SignConv(1, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.conv2, self.bn2 = SignConv(16, 16, 3, padding=1, bias=False), nn.BatchNorm2d(16)
        self.conv3, self.bn3 = SignConv(16, 32, 3, padding=0, bias=False), nn.BatchNorm2d(32)
        self.conv4, self.bn4 = SignConv(32, 32, 3, padding=1, bias=False), nn.BatchNorm2d(32)
        self.pool = nn.MaxPool2d(2)
        self.fc1, self.bn5 = SignLinear(32 * 6 * 6, 64, bias=False), nn.BatchNorm1d(64)
        self.fc2, self.bn6 = SignLinear(64, 10, bias=False), nn.BatchNorm1d(10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = _sign(self.bn1(self.conv1(x)), self.training)
        x = _sign(self.bn2(self.pool(self.conv2(x))), self.training)
        x = _sign(self.bn3(self.conv3(x)), self.training)
        x = self.pool(_sign(self.bn4(self.conv4(x)), self.training))
        x = torch.flatten(x, 1)
        x = _sign(self.bn5(self.fc1(x)), self.training)
        return self.bn6(self.fc2(x))


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist")


def _train(model: nn.Module, images: np.ndarray, labels: np.ndarray, steps: int) -> None:
    """One short epoch of Adam on ``steps`` batches of 100 images (pixel / 255)."""
    torch.manual_seed(0)
    optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
    x = torch.as_tensor(images[:100 * steps]).permute(0, 3, 1, 2).float() / 255
    y = torch.as_tensor(labels[:100 * steps])
    model.train()
    for i in range(steps):
        optimizer.zero_grad()
        loss = F.cross_entropy(model(x[100 * i:100 * i + 100]), y[100 * i:100 * i + 100])
        loss.backward()
        optimizer.step()
    model.eval()


def _torch_reference(model: nn.Module, images: np.ndarray, taps: list[nn.Module]
                     ) -> tuple[np.ndarray, list[np.ndarray]]:
    """Float64 predictions and the bits (output >= 0, NHWC) seen at ``taps``."""
    seen: list[torch.Tensor] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: seen.append(out)) for m in taps]
    model.double().eval()
    with torch.no_grad():
        x = torch.as_tensor(images).permute(0, 3, 1, 2).double() / 255
        scores = model(x)
    for hook in hooks:
        hook.remove()
    bits = [(t.permute(0, 2, 3, 1) if t.ndim == 4 else t).numpy() >= 0 for t in seen]
    return scores.argmax(dim=1).numpy(), bits


def test_binarynet_mlp_imports_bit_for_bit(mnist) -> None:
    torch.manual_seed(1)
    model = BinaryNetMLP()
    _train(model, mnist.x_train, mnist.y_train, steps=100)
    net = import_torch(model, input_shape=(28, 28, 1), input_scale=Fraction(1, 255))
    images = mnist.x_test[:3000]
    predictions, bits = _torch_reference(model, images, [model.bn1, model.bn2])
    scores, hidden = forward(net, images, keep_hidden=True)
    np.testing.assert_array_equal(np.argmax(scores, axis=1), predictions)
    for mine, reference in zip(hidden, bits, strict=True):
        np.testing.assert_array_equal(mine, reference)
    assert np.mean(predictions == mnist.y_test[:3000]) > 0.8  # it learned something


def test_vgg_style_conv_net_imports_bit_for_bit(mnist, tmp_path) -> None:
    torch.manual_seed(2)
    model = VGGStyle()
    _train(model, mnist.x_train, mnist.y_train, steps=60)
    torch.save(model.state_dict(), tmp_path / "weights.pt")
    net = import_torch_state_dict(tmp_path / "weights.pt", VGGStyle, input_shape=(28, 28, 1))
    assert [getattr(layer, "padding", None) for layer in net.layers[:4]] == [1, 1, 0, 1]
    images = mnist.x_test[:1000]
    predictions, bits = _torch_reference(model, images, [model.bn1, model.bn2, model.bn3,
                                                         model.bn5])
    scores, hidden = forward(net, images, keep_hidden=True)
    np.testing.assert_array_equal(np.argmax(scores, axis=1), predictions)
    for index, reference in zip((0, 1, 2, 4), bits, strict=True):
        np.testing.assert_array_equal(hidden[index], reference, err_msg=f"layer {index}")
    save_packed_net(net, tmp_path / "imported.npz")
    assert np.mean(predictions == mnist.y_test[:1000]) > 0.5


class _Relu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = SignLinear(4, 3, bias=False), SignLinear(3, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


class _Real(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.flatten(1))


class _Strided(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = SignConv(1, 2, 3, padding=1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(2)
        self.fc = SignLinear(2, 2, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(torch.flatten(torch.sign(self.bn(self.conv(x))), 1))


class _RealInput(nn.Module):
    """Hardtanh keeps real values: a layer that does not binarize them is not binary."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1, self.fc2 = SignLinear(4, 3, bias=False), SignLinear(3, 2, bias=False)
        self.bn = nn.BatchNorm1d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.hardtanh(self.bn(self.fc1(x.flatten(1)))))


def test_unsupported_modules_are_refused_by_name(tmp_path) -> None:
    cases = [(_Relu(), "operation relu"), (_Real(), "module fc (Linear)"),
             (_Strided(), "stride=(2, 2)"), (_RealInput(), "input is not binarized")]
    zero = BinaryNetMLP()
    with torch.no_grad():
        zero.fc2.weight[0, 0] = 0.0
    cases.append((zero, "exactly 0"))
    for model, message in cases:
        with pytest.raises(TorchImportError) as error:
            import_torch(model.eval(), input_shape=(2, 2, 1))
        text = str(error.value)
        assert message in text and "\n" not in text and "supported:" in text, text


def test_bad_state_dicts_are_one_line_errors(tmp_path) -> None:
    model = BinaryNetMLP()
    torch.save(model.state_dict(), tmp_path / "good.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "good.pt").read_bytes()[:1000])
    with open(tmp_path / "foreign.pt", "wb") as stream:
        np.savez(stream, a=np.zeros(3))
    state = model.state_dict()
    state.pop("fc3.weight")
    torch.save(state, tmp_path / "short.pt")
    for name, message in [("cut.pt", "not a torch state_dict"),
                          ("foreign.pt", "not a torch state_dict"),
                          ("short.pt", "does not fit the module"),
                          ("missing.pt", "does not exist")]:
        with pytest.raises(TorchImportError) as error:
            import_torch_state_dict(tmp_path / name, BinaryNetMLP, input_shape=(28, 28, 1))
        assert message in str(error.value) and "\n" not in str(error.value)
