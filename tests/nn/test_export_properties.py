"""Property tests: random small BNNs, exported, equal torch in float64 (hidden bits exactly,
ties at an exact zero of BatchNorm resolved by exact arithmetic; class scores within the
rounding of their terms), and every evaluation path under random faults equals a full
re-evaluation.

BatchNorm parameters are drawn to include zero, tiny and huge scales (thresholds far
beyond any reachable sum), zero shifts and integer means (exact ties); layouts are those
the exporter accepts: 'same' padding, stride 1, filter sizes 1, 3, 5, 2x2/2 pooling.
"""

from decimal import Decimal, localcontext

import numpy as np
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from torch import nn

from mrambnn.engine import forward, predict
from mrambnn.experiments.deploy import corrupt_net
from mrambnn.memory import BitFlip
from mrambnn.montecarlo import DrawEvaluator
from mrambnn.montecarlo.conv_draws import ConvDrawEvaluator, supports_conv
from mrambnn.montecarlo.general import GeneralEvaluator
from mrambnn.nn import SignActivation, export_packed_net
from mrambnn.nn.layers import BinaryConv2d, BinaryLinear

SCALES = st.one_of(st.sampled_from([0.0, 1e-20, -1e-20, 1e-300, 1e20, -1e20, 0.5, -0.5]),
                   st.floats(-3, 3, allow_nan=False))
SHIFTS = st.one_of(st.sampled_from([0.0, -1.0, 1.0]), st.floats(-50, 50, allow_nan=False))
MEANS = st.one_of(st.integers(-40, 40).map(float), st.floats(-60, 60, allow_nan=False))
VARIANCES = st.one_of(st.sampled_from([1.0, 4.0, 1e-12, 1e12]), st.floats(1e-3, 1e3))


@st.composite
def batchnorms(draw, n: int, dims: int):  # type: ignore[no-untyped-def]
    bn = (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(n).double()
    values = [draw(st.lists(strategy, min_size=n, max_size=n))
              for strategy in (SCALES, SHIFTS, MEANS, VARIANCES)]
    with torch.no_grad():
        for tensor, drawn in zip((bn.weight, bn.bias, bn.running_mean, bn.running_var),
                                 values, strict=True):
            tensor.copy_(torch.tensor(drawn, dtype=torch.float64))
    return bn.eval()


@st.composite
def networks(draw):  # type: ignore[no-untyped-def]
    """(model, input shape (H, W, C), input offset)."""
    conv = draw(st.booleans())
    modules: list[nn.Module] = []
    if conv:
        h = w = draw(st.sampled_from([4, 6, 8]))
        channels = draw(st.integers(1, 3))
        shape = (h, w, channels)
        for _ in range(draw(st.integers(1, 2))):
            k = draw(st.sampled_from([1, 3, 5]))
            out = draw(st.integers(2, 70))
            modules.append(BinaryConv2d(channels, out, k, padding=k // 2))
            if h % 2 == 0 and draw(st.booleans()):
                modules.append(nn.MaxPool2d(2))
                h, w = h // 2, w // 2
            modules += [draw(batchnorms(out, 2)), SignActivation()]
            channels = out
        modules.append(nn.Flatten())
        width = channels * h * w
    else:
        shape = (4, 4, draw(st.integers(1, 2)))
        width = int(np.prod(shape))
    for _ in range(draw(st.integers(0 if conv else 1, 2))):
        out = draw(st.integers(2, 70))
        modules += [BinaryLinear(width, out), draw(batchnorms(out, 1)), SignActivation()]
        width = out
    modules += [BinaryLinear(width, 5), draw(batchnorms(5, 1))]
    model = nn.Sequential(*modules).double()
    generator = torch.Generator().manual_seed(draw(st.integers(0, 2**31)))
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, BinaryConv2d | BinaryLinear):
                module.weight.copy_(torch.randn(module.weight.shape, generator=generator,
                                                dtype=torch.float64))
    return model.eval(), shape, draw(st.sampled_from([0, 128])) if conv else 0


def _exact_sign(bn: nn.Module, a: float, channel: int) -> bool:
    """BatchNorm(a) >= 0 of one channel in 1000-digit decimal arithmetic, the parameters
    taken as the exact values of their doubles (an exact zero is +1, as sign(0))."""
    with localcontext() as context:
        context.prec = 1000
        gamma, beta, mu, var = (Decimal(float(t[channel])) for t in (
            bn.weight, bn.bias, bn.running_mean, bn.running_var))
        value = gamma * (Decimal(a) - mu) / (var + Decimal(bn.eps)).sqrt() + beta
        return value >= 0


def _terms(bn: nn.Module, a: torch.Tensor) -> np.ndarray:
    """The magnitude of the terms of BatchNorm(a) = (a - mu) * scale + beta, elementwise:
    float64 evaluations of it in any order agree within about 1e-16 of this."""
    view = (1, -1) + (1,) * (a.dim() - 2)
    with torch.no_grad():
        scale = (bn.weight / torch.sqrt(bn.running_var + bn.eps)).reshape(view)
        return (scale.abs() * (a.abs() + bn.running_mean.abs().reshape(view))
                + bn.bias.abs().reshape(view)).numpy()


def _torch_reference(model: nn.Module, images: np.ndarray, offset: int, conv: bool):
    """Hidden bits (engine layout), class scores of the model in float64, and the size of
    the terms of each score (its rounding scale)."""
    x = torch.from_numpy(images.astype(np.float64) - offset)
    x = x.permute(0, 3, 1, 2) if conv else x.reshape(len(x), -1)
    hidden, modules = [], list(model)
    pre = x  # the input of the module before the current one (a BatchNorm's input)
    with torch.no_grad():
        for i, module in enumerate(modules):
            if isinstance(module, SignActivation):
                bn, a = modules[i - 1], pre
                y = bn(a).numpy()
                bits = y >= 0
                # torch's float64 result, (a - mu) * scale + shift, is off by about 1e-16
                # of its terms: near zero within that, the sign comes from exact arithmetic
                terms = _terms(bn, a)
                for index in zip(*np.nonzero(np.abs(y) <= 1e-9 * terms), strict=True):
                    bits[index] = _exact_sign(bn, float(a[index]), index[1])
                x = torch.from_numpy(np.where(bits, 1.0, -1.0))
                hidden.append(bits.transpose(0, 2, 3, 1) if bits.ndim == 4 else bits)
                continue
            pre = x
            x = module(x)
    return hidden, x.numpy(), _terms(modules[-1], pre)


@settings(max_examples=25, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(networks(), st.integers(0, 2**31))
def test_random_networks_match_torch_and_every_path_matches_full(drawn, seed) -> None:
    model, shape, offset = drawn
    conv = isinstance(model[0], BinaryConv2d)
    model.input_offset = offset
    net = export_packed_net(model, shape)
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (24, *shape), dtype=np.uint8)
    scores, hidden = forward(net, images, keep_hidden=True)
    torch_hidden, torch_scores, terms = _torch_reference(model, images, offset, conv)
    for ours, theirs in zip(hidden, torch_hidden, strict=True):
        np.testing.assert_array_equal(ours, theirs)
    # a score is a BatchNorm of an integer: the engine's and torch's float64 evaluation
    # orders agree within the rounding of its terms (a scale of 1e20 makes that 1e4)
    bound = 1e-9 * (1 + terms)
    assert np.all(np.abs(scores - torch_scores) <= bound)
    order = np.argsort(torch_scores, axis=1)
    rows = np.arange(len(scores))
    first, second = order[:, -1], order[:, -2]
    clear = (torch_scores[rows, first] - torch_scores[rows, second]
             > bound[rows, first] + bound[rows, second])
    np.testing.assert_array_equal(scores.argmax(1)[clear], torch_scores.argmax(1)[clear])

    draws = [corrupt_net(net, BitFlip(ber=ber), rng=np.random.default_rng([seed, d]))
             .weight_words for d, ber in enumerate((1e-3, 2e-2, 0.1, 0.3))]
    full = np.stack([predict(net.with_weight_words(w), images) for w in draws])
    evaluators = [DrawEvaluator(net, images), GeneralEvaluator(net, images)]
    if supports_conv(net):
        evaluators.append(ConvDrawEvaluator(net, images, chunk=10))
    for evaluator in evaluators:
        got = (evaluator.predict_many(draws, path="incremental")
               if isinstance(evaluator, DrawEvaluator) else evaluator.predict_draws(draws))
        np.testing.assert_array_equal(got, full, err_msg=type(evaluator).__name__)
