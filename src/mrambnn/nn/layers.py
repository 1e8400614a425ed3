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
    "binarize_ste",
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


class SignActivation(nn.Module):
    """Binary activation sign(x) with the straight-through estimator."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return binarize_ste(x)


class BinaryLinear(nn.Linear):
    """Linear layer whose forward pass uses sign(latent weight); no bias.

    The latent float weights are what the optimizer updates; `clip_latent_weights`
    keeps them in [-1, 1] after each step, as in BinaryNet.
    """

    def __init__(self, in_features: int, out_features: int) -> None:
        super().__init__(in_features, out_features, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return nn.functional.linear(x, binarize_ste(self.weight))


class BinaryConv2d(nn.Conv2d):
    """2-D convolution with sign(latent weight), no bias, zero padding.

    Zero padding adds a third value (0) beside +-1 at the borders; the packed engine
    reproduces it with a per-position mask of valid inputs.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 3,
                 padding: int = 1) -> None:
        super().__init__(in_channels, out_channels, kernel_size, padding=padding, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(x, binarize_ste(self.weight), None)


def clip_latent_weights(model: nn.Module) -> None:
    """Clamp the latent weights of every binary layer to [-1, 1] in place."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, BinaryLinear | BinaryConv2d):
                module.weight.clamp_(-1.0, 1.0)
