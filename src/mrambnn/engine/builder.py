"""Build a `PackedNet` from plain arrays: the door through which networks trained elsewhere
come in (every importer of `mrambnn.importers` and `mrambnn.nn.importer` goes through it).

A network is a list of layer specifications, convolutions first, then dense layers::

    net = build_packed_net([
        ConvSpec(weights=w1, padding=1, pool="preactivation", head=BatchNormSpec(...)),
        DenseSpec(weights=w2, input_order="chw", head=BatchNormSpec(...)),
        DenseSpec(weights=w3, head=BatchNormSpec(...)),  # output layer: class scores
    ], input_shape=(32, 32, 3), input_levels=levels, input_scale=Fraction(1, 128))

- weights: +-1 values (``sign`` taken by the caller, with its framework's convention);
  dense (out, in), conv (out, C, k, k) (``layout="oihw"``, torch and ONNX) or
  (out, k, k, C) (``"ohwi"``).
- head: a hidden layer's `BatchNormSpec` (folded exactly, `mrambnn.engine.folding`), an
  integer `Threshold` already folded, or None (the sign of the pre-activation plus bias);
  the output layer's `BatchNormSpec`, `Affine` scores, or None (the pre-activation).
- the first layer sees ``input_levels[c, pixel]`` (or ``pixel - input_offset``), integers
  standing for the real inputs ``input_scale * level``; ``bias`` (out,) real, added to
  the pre-activation before the head.
- pool: 2x2 max-pooling with stride 2 of the pre-activations before the head
  (``"preactivation"``: conv - maxpool - BatchNorm - sign) or of the output bits
  (``"bits"``: conv - BatchNorm - sign - maxpool, as FINN hardware pools).

Anything that does not fit (a weight other than +-1, shapes that do not chain, a pooled
odd map, a dense layer before a convolution) is refused with a one-line error naming the
layer.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from mrambnn.bits import pack_signs
from mrambnn.engine.conv import Conv
from mrambnn.engine.folding import fold_affine, fold_batchnorm
from mrambnn.engine.layers import Affine, Dense, Threshold
from mrambnn.engine.network import Layer, PackedNet

__all__ = ["BatchNormSpec", "ConvSpec", "DenseSpec", "LayerSpec", "build_packed_net"]

POOLS = (None, "preactivation", "bits")


@dataclass(frozen=True, kw_only=True, eq=False)
class BatchNormSpec:
    """A BatchNorm's (out,) running mean and variance, scale gamma and shift beta, and eps."""

    mean: np.ndarray
    variance: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float


Head = BatchNormSpec | Threshold | Affine | None


@dataclass(frozen=True, kw_only=True, eq=False)
class DenseSpec:
    """A fully connected layer: weights (out, in) +-1; ``input_order`` the order of the
    flattened input after a convolution, "hwc" (mrambnn, FINN) or "chw" (torch, ONNX)."""

    weights: np.ndarray
    head: Head = None
    bias: np.ndarray | None = None
    input_order: str = "hwc"


@dataclass(frozen=True, kw_only=True, eq=False)
class ConvSpec:
    """A k x k convolution, stride 1, zero ``padding`` (0 to k // 2), optional pooling."""

    weights: np.ndarray
    padding: int
    head: BatchNormSpec | Threshold | None = None
    bias: np.ndarray | None = None
    pool: str | None = None
    layout: str = "oihw"


LayerSpec = DenseSpec | ConvSpec


def _signs(index: int, weights: np.ndarray) -> np.ndarray:
    w = np.asarray(weights)
    if w.dtype.kind not in "iuf" or not np.isin(w, (-1, 1)).all():
        bad = w.ravel()[~np.isin(w.ravel(), (-1, 1))][:1] if w.dtype.kind in "iuf" else [w.dtype]
        raise ValueError(f"layer {index}: weights must be +-1, found {bad[0]!r}")
    return w.astype(np.int8)


def _hidden_head(index: int, head: Head, bias: np.ndarray | None, n_out: int,
                 scale: Fraction) -> Threshold:
    if isinstance(head, Affine):
        raise ValueError(f"layer {index}: an Affine head is for the output layer only")
    if isinstance(head, Threshold):
        if bias is not None or scale != 1:
            raise ValueError(f"layer {index}: an integer Threshold takes no bias or input "
                             "scale (fold them into it)")
        found = head
    elif head is None:  # sign(s a + bias): a BatchNorm that changes nothing
        ones, zeros = np.ones(n_out), np.zeros(n_out)
        found = fold_batchnorm(mean=zeros, variance=ones, gamma=ones, beta=zeros, eps=0.0,
                               bias=bias, input_scale=scale)
    else:
        found = fold_batchnorm(mean=head.mean, variance=head.variance, gamma=head.gamma,
                               beta=head.beta, eps=head.eps, bias=bias, input_scale=scale)
    if found.threshold.size != n_out:
        raise ValueError(f"layer {index}: head has {found.threshold.size} outputs, the "
                         f"weights {n_out}")
    return found


def _output_head(index: int, head: Head, bias: np.ndarray | None, n_out: int,
                 scale: Fraction) -> Affine:
    if isinstance(head, Threshold):
        raise ValueError(f"layer {index}: the output layer gives scores, not a Threshold")
    if isinstance(head, Affine):
        if bias is not None or scale != 1:
            raise ValueError(f"layer {index}: an Affine head takes no bias or input scale")
        found = head
    elif head is None:
        found = fold_affine(bias=bias, n_out=n_out, input_scale=scale)
    else:
        found = fold_affine(mean=head.mean, variance=head.variance, gamma=head.gamma,
                            beta=head.beta, eps=head.eps, bias=bias, n_out=n_out,
                            input_scale=scale)
    if found.scale.size != n_out:
        raise ValueError(f"layer {index}: head has {found.scale.size} outputs, the "
                         f"weights {n_out}")
    return found


def _conv(index: int, spec: ConvSpec, shape: tuple[int, ...], scale: Fraction) -> Conv:
    if len(shape) != 3:
        raise ValueError(f"layer {index}: a convolution after a dense layer is not supported")
    signs = _signs(index, spec.weights)
    if spec.layout not in ("oihw", "ohwi") or signs.ndim != 4:
        raise ValueError(f"layer {index}: conv weights must be 4-D, layout 'oihw' or 'ohwi'")
    if spec.layout == "oihw":
        signs = signs.transpose(0, 2, 3, 1)
    n_out, k, k2, channels = signs.shape
    if k != k2 or k % 2 == 0:
        raise ValueError(f"layer {index}: only odd square filters are supported, got "
                         f"{k} x {k2}")
    if channels != shape[2]:
        raise ValueError(f"layer {index}: filters take {channels} channels, the input has "
                         f"{shape[2]}")
    if spec.pool not in POOLS:
        raise ValueError(f"layer {index}: pool must be one of {POOLS}, got {spec.pool!r}")
    if spec.head is None or isinstance(spec.head, (BatchNormSpec, Threshold)):
        head = _hidden_head(index, spec.head, spec.bias, n_out, scale)
    else:
        raise ValueError(f"layer {index}: a conv layer needs a BatchNorm or Threshold head")
    if spec.pool == "bits" and np.any(head.direction < 0):
        # pooling the bits is an OR: make every direction positive by negating the filters
        # (and so the sums) of the outputs whose direction is negative
        flip = head.direction < 0
        signs = np.where(flip[:, None, None, None], -signs, signs).astype(np.int8)
        head = Threshold(threshold=head.threshold, direction=np.ones_like(head.direction))
    try:
        return Conv(weight_words=pack_signs(signs.reshape(n_out, -1)),
                    in_shape=(int(shape[0]), int(shape[1]), int(shape[2])), filter_size=k,
                    pool=spec.pool is not None, integer_input=index == 0, head=head,
                    padding=int(spec.padding))
    except ValueError as error:
        raise ValueError(f"layer {index}: {error}") from None


def _dense(index: int, spec: DenseSpec, shape: tuple[int, ...], scale: Fraction,
           last: bool) -> Dense:
    signs = _signs(index, spec.weights)
    if signs.ndim != 2:
        raise ValueError(f"layer {index}: dense weights must be (out, in)")
    n_out, n_in = signs.shape
    if n_in != int(np.prod(shape)):
        raise ValueError(f"layer {index}: takes {n_in} inputs, the previous layer gives "
                         f"{int(np.prod(shape))} {tuple(shape)}")
    if spec.input_order not in ("hwc", "chw"):
        raise ValueError(f"layer {index}: input_order must be 'hwc' or 'chw'")
    if spec.input_order == "chw" and len(shape) == 3:
        h, w, c = shape
        signs = signs.reshape(n_out, c, h, w).transpose(0, 2, 3, 1).reshape(n_out, -1)
    head: Threshold | Affine = (_output_head(index, spec.head, spec.bias, n_out, scale) if last
                                else _hidden_head(index, spec.head, spec.bias, n_out, scale))
    return Dense(weight_words=pack_signs(signs), in_features=n_in, integer_input=index == 0,
                 head=head)


def build_packed_net(specs: Sequence[LayerSpec], *, input_shape: tuple[int, int, int],
                     input_levels: np.ndarray | None = None, input_offset: int = 0,
                     input_scale: Fraction | int = 1,
                     metadata: dict[str, Any] | None = None) -> PackedNet:
    """The `PackedNet` of ``specs`` (module docstring) on (H, W, C) uint8 images.

    Raises:
        ValueError: one line naming the layer and what does not fit.
    """
    if not specs:
        raise ValueError("a network needs at least one layer")
    shape: tuple[int, ...] = tuple(int(v) for v in input_shape)
    if len(shape) != 3:
        raise ValueError(f"input_shape must be (H, W, C), got {input_shape}")
    scale = Fraction(input_scale)
    layers: list[Layer] = []
    for index, spec in enumerate(specs):
        first_scale = scale if index == 0 else Fraction(1)
        last = index == len(specs) - 1
        layer: Layer
        if isinstance(spec, ConvSpec):
            if last:
                raise ValueError(f"layer {index}: the output layer must be dense")
            layer = _conv(index, spec, shape, first_scale)
            shape = layer.out_shape
        elif isinstance(spec, DenseSpec):
            layer = _dense(index, spec, shape, first_scale, last)
            shape = (layer.out_features,)
        else:
            raise ValueError(f"layer {index}: not a DenseSpec or ConvSpec "
                             f"({type(spec).__name__})")
        layers.append(layer)
    h, w, c = (int(v) for v in input_shape)
    info = {"n_weights": sum(layer.n_weights for layer in layers), **(metadata or {})}
    return PackedNet(layers=tuple(layers), input_shape=(h, w, c), input_offset=input_offset,
                     input_levels=input_levels, metadata=info)

