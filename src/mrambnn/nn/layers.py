"""Binary layers with the straight-through estimator (BinaryNet, Hubara et al. 2016).

Forward: sign with sign(0) = +1, the convention of `mrambnn.bits`. Backward: the gradient
passes where |x| <= 1 and is zero elsewhere (the "hardtanh window").
"""

import torch
from torch import nn

__all__ = [
    "BinaryConv2d",
    "BinaryLinear",
    "SignActivation",
    "StoredWeightFaults",
    "binarize_ste",
    "binary_layers",
    "clip_latent_weights",
]


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        return torch.where(x >= 0, torch.ones_like(x), -torch.ones_like(x))

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad * (x.abs() <= 1).to(grad.dtype)


def binarize_ste(x: torch.Tensor) -> torch.Tensor:
    """+1 where x >= 0 else -1; straight-through gradient inside |x| <= 1."""
    return _SignSTE.apply(x)


class StoredWeightFaults:
    """Faults of the binary weights as stored, injected while training (error-aware
    training, Hirtzlin et al., AICAS 2019).

    In every training forward pass each binary weight is read back inverted with
    probability ``p_plus`` (a stored +1) or ``p_minus`` (a stored -1), a fresh pattern
    per pass drawn from ``generator``. The gradient is the straight-through estimator's
    of the weight as read, unchanged: the flip is added as a constant, so the latent
    weight receives the gradient of the value the memory returned. Evaluation mode
    reads the weights exactly.

    Attributes:
        p_plus: probability that a stored +1 reads as -1.
        p_minus: probability that a stored -1 reads as +1.
        generator: the torch random stream of the flip patterns.
    """

    def __init__(self, *, p_plus: float, p_minus: float, generator: torch.Generator) -> None:
        for name, p in (("p_plus", p_plus), ("p_minus", p_minus)):
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {p}")
        self.p_plus, self.p_minus, self.generator = float(p_plus), float(p_minus), generator
        self.flipped = 0  # weights read inverted so far
        self.read = 0  # weights read so far

    def __call__(self, signs: torch.Tensor) -> torch.Tensor:
        """``signs`` (any shape, +-1) as read back from the memory in one pass."""
        draw = torch.rand(signs.shape, generator=self.generator, dtype=torch.float32)
        probability = torch.where(signs > 0, self.p_plus, self.p_minus)
        flip = draw < probability
        self.flipped += int(flip.sum())
        self.read += signs.numel()
        return signs + torch.where(flip, -2.0 * signs, 0.0).detach()


def binary_layers(model: nn.Module) -> list["BinaryLinear | BinaryConv2d"]:
    """The binary (weight-storing) layers of ``model``, in module order."""
    return [m for m in model.modules() if isinstance(m, BinaryLinear | BinaryConv2d)]


def _stored_signs(layer: "BinaryLinear | BinaryConv2d") -> torch.Tensor:
    signs = binarize_ste(layer.weight)
    faults = getattr(layer, "faults", None)
    if faults is not None and layer.training:
        return faults(signs)
    return signs


class SignActivation(nn.Module):
    """Binary activation sign(x) with the straight-through estimator."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return binarize_ste(x)


class BinaryLinear(nn.Linear):
    """Linear layer whose forward pass uses sign(latent weight); no bias.

    The latent float weights are what the optimizer updates; `clip_latent_weights`
    keeps them in [-1, 1] after each step, as in BinaryNet. ``faults`` (a
    `StoredWeightFaults`, or None) corrupts the weights as read in training passes.
    """

    faults: "StoredWeightFaults | None" = None

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, _stored_signs(self))


class BinaryConv2d(nn.Conv2d):
    """2-D convolution with sign(latent weight), no bias, zero padding, any stride.

    Zero padding adds a third value (0) beside +-1 at the borders; the packed engine
    reproduces it with a per-position mask of valid inputs. ``faults``: as in
    `BinaryLinear`.
    """

    faults: "StoredWeightFaults | None" = None

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 padding: int = 1, stride: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, stride=stride,
                         padding=padding, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, _stored_signs(self), None)


def clip_latent_weights(model: nn.Module) -> None:
    """Clamp the latent weights of every binary layer to [-1, 1] in place."""
    with torch.no_grad():
        for module in binary_layers(model):
            module.weight.clamp_(-1.0, 1.0)
