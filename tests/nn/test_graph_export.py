"""ImageNet-size BNNs exported to the graph engine: the same predictions and hidden bits
as the torch model run in float64, at full size too, and refusals."""

import re

import numpy as np
import pytest
import torch
from torch import nn

from mrambnn.engine.graph import graph_forward, graph_predict
from mrambnn.nn.graph_export import GraphExportError, export_graph
from mrambnn.nn.imagenet_models import AlexNetBNN, BiRealResNet18, input_levels
from mrambnn.nn.layers import BinaryConv2d, SignActivation


def _randomize_batchnorm(model: nn.Module, seed: int) -> nn.Module:
    """Random running statistics and affine parameters (a fresh BatchNorm is the
    identity, which would hide errors in the glue)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
                m.running_mean.normal_(0, 5, generator=g)
                m.running_var.uniform_(0.5, 30, generator=g)
                m.weight.normal_(0, 1, generator=g)
                m.bias.normal_(0, 1, generator=g)
    return model.double().eval()


def _compare(model: nn.Module, size: int, n_images: int = 2) -> None:
    levels = input_levels(model)
    net = export_graph(model, input_shape=(size, size, 3), input_levels=levels)
    images = np.random.default_rng(7).integers(0, 256, (n_images, size, size, 3),
                                               dtype=np.uint8)
    captured: list[torch.Tensor] = []
    for module in model.modules():
        if isinstance(module, SignActivation):
            module.register_forward_hook(lambda m, i, o: captured.append(o))
    x = torch.as_tensor(levels[np.arange(3), images].astype(np.float64))
    with torch.no_grad():
        reference = model(x.permute(0, 3, 1, 2).contiguous()).numpy()
    scores, hidden = graph_forward(net, images, keep_hidden=True)
    assert len(hidden) == len(captured) > 0
    for bits, out in zip(hidden.values(), captured, strict=True):
        expected = out.numpy()
        expected = expected.transpose(0, 2, 3, 1) if expected.ndim == 4 else expected
        np.testing.assert_array_equal(bits, expected > 0)
    np.testing.assert_allclose(scores, reference, rtol=0, atol=1e-9 * np.abs(reference).max())
    np.testing.assert_array_equal(graph_predict(net, images), reference.argmax(axis=1))


@pytest.mark.parametrize("width", [0.1, 0.25])
def test_alexnet_bnn_small_widths_match_torch(width: float) -> None:
    torch.manual_seed(1)
    _compare(_randomize_batchnorm(AlexNetBNN(50, width=width), 2), 224, n_images=3)


def test_resnet18_bnn_small_width_matches_torch() -> None:
    torch.manual_seed(3)
    _compare(_randomize_batchnorm(BiRealResNet18(30, width=0.25), 4), 96, n_images=3)


@pytest.mark.slow
def test_full_size_alexnet_bnn_matches_torch_at_224() -> None:
    torch.manual_seed(5)
    model = _randomize_batchnorm(AlexNetBNN(1000), 6)
    assert sum(p.numel() for m in model.modules() if isinstance(m, BinaryConv2d)
               for p in m.parameters()) > 18_000_000
    _compare(model, 224)


@pytest.mark.slow
def test_full_size_resnet18_bnn_matches_torch_at_224() -> None:
    torch.manual_seed(7)
    _compare(_randomize_batchnorm(BiRealResNet18(1000), 8), 224)


def test_storage_is_explicit() -> None:
    model = _randomize_batchnorm(BiRealResNet18(10, width=0.125), 1)
    net = export_graph(model, input_shape=(32, 32, 3), input_levels=input_levels(model))
    rows = net.storage()
    mram = [r for r in rows if r.storage == "mram"]
    assert len(mram) == 16 and all(r.operation == "Conv2d" for r in mram)
    assert sum(r.weights for r in mram) == net.n_weights
    sram_ops = {r.operation for r in rows if r.storage == "sram"}
    assert sram_ops == {"Conv2d", "Linear", "bias", "BatchNorm"}
    alexnet = export_graph(_randomize_batchnorm(AlexNetBNN(10, width=0.05), 1),
                           input_shape=(224, 224, 3),
                           input_levels=input_levels(AlexNetBNN(10, width=0.05)))
    assert {r.storage for r in alexnet.storage() if r.operation != "BatchNorm"} == {"mram"}


class _WithRelu(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = BinaryConv2d(3, 4, 3, 1)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.conv(x)).flatten(1)


class _Multiply(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.conv = BinaryConv2d(3, 4, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv(x)
        return (y * y).flatten(1)


@pytest.mark.parametrize(("model", "named"), [
    (_WithRelu(), "module relu (ReLU)"),
    (_Multiply(), "operation mul"),
    (nn.Sequential(nn.Conv2d(3, 4, 3, groups=1, dilation=2), nn.Flatten()), "dilation"),
    (nn.Sequential(nn.MaxPool2d(3, 2, ceil_mode=True), nn.Flatten()), "ceil mode"),
    (nn.Sequential(nn.AdaptiveAvgPool2d(2), nn.Flatten()), "output size"),
])
def test_unsupported_operations_are_refused_by_name(model: nn.Module, named: str) -> None:
    with pytest.raises(GraphExportError, match=re.escape(named)) as error:
        export_graph(model, input_shape=(8, 8, 3),
                     input_levels=np.tile(np.arange(256) - 128, (3, 1)).astype(np.int16))
    assert "\n" not in str(error.value)
