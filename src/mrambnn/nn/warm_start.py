"""A trainable torch model that starts from a packed network (fine-tuning a shipped BNN).

A packed file keeps the binary weights and the folded BatchNorm (integer thresholds, the
output layer's scale and offset), not the latent weights nor the BatchNorm statistics.
The model rebuilt here computes exactly what the packed network computes:
- latent weights ``magnitude * sign`` (default `WARM_START_MAGNITUDE`). The magnitude
  decides how far fine-tuning can move the binary weights: at 0.5 (a first choice, the
  midpoint of the clip range) ten CIFAR-10 epochs with Adam from lr 1e-3 changed none of
  the weights beyond the first layer's 0.08 %; a trained network's latent weights crowd
  near 0, so the default is small;
- each hidden BatchNorm gets the mean and variance of its inputs over the given images
  (measured layer by layer in evaluation mode, earlier layers already rebuilt), gamma =
  the threshold's direction and beta placing the BatchNorm's zero half-way between the
  integers ``threshold - 1`` and ``threshold``; the output BatchNorm maps ``a`` to
  ``a * scale + offset`` (float32 rounding).
So evaluation mode reproduces the packed network's bits, and training mode starts from
batch statistics close to those the thresholds were folded from.
"""

import numpy as np
import torch
from torch import nn

from mrambnn.bits import unpack_signs
from mrambnn.engine import Affine, Conv, PackedNet
from mrambnn.nn.layers import binary_layers
from mrambnn.nn.models import images_to_tensor

__all__ = ["WARM_START_MAGNITUDE", "load_packed_weights"]

WARM_START_MAGNITUDE = 0.02
CALIBRATION_IMAGES = 10_000  # images whose statistics set each BatchNorm's mean and variance


def _torch_signs(net: PackedNet) -> list[np.ndarray]:
    """Each layer's +-1 weights in torch's layout: conv (O, C, k, k), dense (O, in) with
    the first dense layer after convolutions in torch's (C, H, W) flattening."""
    found: list[np.ndarray] = []
    flatten_from: tuple[int, int, int] | None = None
    for layer in net.layers:
        signs = unpack_signs(layer.weight_words, layer.in_features).astype(np.float32)
        if isinstance(layer, Conv):
            k, c = layer.filter_size, layer.in_shape[2]
            found.append(signs.reshape(len(signs), k, k, c).transpose(0, 3, 1, 2))
            flatten_from = layer.out_shape
            continue
        if flatten_from is not None:
            h, w, c = flatten_from
            signs = signs.reshape(len(signs), h, w, c).transpose(0, 3, 1, 2).reshape(
                len(signs), -1)
            flatten_from = None
        found.append(signs)
    return found


def _norm_after(model: nn.Module, layer: nn.Module) -> nn.modules.batchnorm._BatchNorm:
    modules = list(model.modules())
    after = modules[modules.index(layer) + 1:]
    return next(m for m in after if isinstance(m, nn.modules.batchnorm._BatchNorm))


def _input_statistics(model: nn.Module, norm: nn.Module, images: np.ndarray
                      ) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean and variance (per channel) of what ``norm`` receives, model in eval mode."""
    sums: list[torch.Tensor] = []  # count, sum and sum of squares per channel (float64)

    def keep(_module: nn.Module, inputs: tuple[torch.Tensor, ...]) -> None:
        x = inputs[0].double()
        x = x.transpose(0, 1).reshape(x.shape[1], -1)
        moments = torch.stack([torch.full((len(x),), float(x.shape[1]), dtype=torch.float64),
                               x.sum(dim=1), (x * x).sum(dim=1)])
        sums.append(moments if not sums else sums.pop() + moments)

    handle = norm.register_forward_pre_hook(keep)
    try:
        with torch.no_grad():
            for i in range(0, len(images), 500):
                model(images_to_tensor(images[i:i + 500], model))
    finally:
        handle.remove()
    count, total, squares = sums[0]
    mean = total / count
    return mean, torch.clamp(squares / count - mean * mean, min=0.0)


def load_packed_weights(model: nn.Module, net: PackedNet, images: np.ndarray, *,
                        magnitude: float = WARM_START_MAGNITUDE) -> nn.Module:
    """Set ``model`` (a fresh model of ``net``'s architecture) to compute what ``net``
    does (module docstring); ``images`` (N, H, W, C) uint8 training images give the
    BatchNorm statistics (the first `CALIBRATION_IMAGES`); ``magnitude`` in (0, 1] the
    latent weights' absolute value. Returns the model in
    evaluation mode; raises ValueError when the layouts differ."""
    if not 0 < magnitude <= 1:
        raise ValueError(f"the latent weights' magnitude must be in (0, 1], got {magnitude}")
    layers = binary_layers(model)
    signs = _torch_signs(net)
    if len(layers) != len(signs) or any(tuple(m.weight.shape) != s.shape
                                        for m, s in zip(layers, signs, strict=False)):
        raise ValueError("the packed network's layers do not match the architecture: "
                         f"{[s.shape for s in signs]} vs "
                         f"{[tuple(m.weight.shape) for m in layers]}")
    model.eval()
    sample = images[:CALIBRATION_IMAGES]
    with torch.no_grad():
        for module, sign, packed in zip(layers, signs, net.layers, strict=True):
            module.weight.copy_(torch.from_numpy(magnitude * sign))
            norm = _norm_after(model, module)
            mean, variance = _input_statistics(model, norm, sample)
            variance = torch.clamp(variance, min=1.0)  # a constant input: any scale will do
            sigma = torch.sqrt(variance + norm.eps)
            norm.running_mean.copy_(mean)
            norm.running_var.copy_(variance)
            head = packed.head
            if isinstance(head, Affine):
                norm.weight.copy_(torch.from_numpy(head.scale) * sigma)
                norm.bias.copy_(torch.from_numpy(head.offset) + torch.from_numpy(head.scale)
                                * mean)
                continue
            direction = torch.from_numpy(head.direction.astype(np.float64))
            threshold = torch.from_numpy(head.threshold.astype(np.float64))
            norm.weight.copy_(direction)
            norm.bias.copy_((direction * mean - threshold + 0.5) / sigma)
    return model
