"""The operations of a `GraphNet` (`mrambnn.engine.graph`): ImageNet-size binarized
networks, residual ones included, evaluated exactly.

Values flowing between nodes are of three kinds: ``bits`` (bool, +1 = True: a sign's
output, what binary layers take), ``integer`` (int64: the input pixels' integer coding,
or a layer's exact sum) and ``real`` (float64: BatchNorm outputs, shortcuts, averages).
Feature maps are (N, H, W, C); flat values (N, F).

Weights say where they are stored: `BinaryWeights` in the MRAM (packed uint64 rows, the
words faults corrupt), `RealWeights` in an error-free memory (SRAM; the real-valued stem,
shortcut and classifier layers of Bi-Real-style networks). Convolution weights are laid
out (out, ky, kx, channel), one row per output channel; a dense layer's inputs are in the
order of the value it takes ((H, W, C) of a flattened map).
"""

from dataclasses import dataclass

import numpy as np

from mrambnn.bits import n_words

__all__ = ["Add", "AvgPool", "BatchNorm", "BinaryWeights", "Conv2d", "Flatten",
           "GlobalAvgPool", "GraphNode", "Linear", "MaxPool", "RealWeights", "Sign"]


@dataclass(frozen=True, kw_only=True, eq=False)
class BinaryWeights:
    """+-1 weights stored in the MRAM: (rows, n_words(fan_in)) uint64 words, bit 1 = +1,
    padding bits 0."""

    words: np.ndarray
    fan_in: int
    storage = "mram"

    def __post_init__(self) -> None:
        w = self.words
        if w.dtype != np.uint64 or w.ndim != 2 or w.shape[1] != n_words(self.fan_in):
            raise ValueError(f"binary weights must be uint64 (rows, {n_words(self.fan_in)})"
                             f", got {w.dtype} {w.shape}")

    @property
    def rows(self) -> int:
        return int(self.words.shape[0])


@dataclass(frozen=True, kw_only=True, eq=False)
class RealWeights:
    """Real-valued weights (rows, fan_in) float64, stored in an error-free memory."""

    values: np.ndarray
    storage = "sram"

    def __post_init__(self) -> None:
        v = self.values
        if v.dtype != np.float64 or v.ndim != 2:
            raise ValueError(f"real weights must be float64 (rows, fan_in), got {v.dtype} "
                             f"{v.shape}")

    @property
    def fan_in(self) -> int:
        return int(self.values.shape[1])

    @property
    def rows(self) -> int:
        return int(self.values.shape[0])


Weights = BinaryWeights | RealWeights


def _check_bias(name: str, bias: np.ndarray | None, rows: int) -> None:
    if bias is not None and (bias.dtype != np.float64 or bias.shape != (rows,)):
        raise ValueError(f"{name}: a bias must be float64 ({rows},), got {bias.dtype} "
                         f"{bias.shape}")


@dataclass(frozen=True, kw_only=True, eq=False)
class Conv2d:
    """A k x k convolution of stride s with zero padding p (padded inputs add 0).

    Output map: ((H + 2p - k) // s + 1, (W + 2p - k) // s + 1, rows). Kinds: bits in and
    binary weights: XNOR-popcount; integer in and binary weights: exact integer sums;
    anything with a real input, real weights or a bias (real, error-free): float64.
    """

    name: str
    inputs: tuple[str]
    weights: Weights
    kernel: int
    stride: int = 1
    padding: int = 0
    bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check_bias(self.name, self.bias, self.weights.rows)
        if self.kernel < 1 or self.stride < 1 or not 0 <= self.padding < self.kernel:
            raise ValueError(f"{self.name}: kernel {self.kernel}, stride {self.stride}, "
                             f"padding {self.padding}: need kernel, stride >= 1 and "
                             "0 <= padding < kernel")
        if self.weights.fan_in % (self.kernel * self.kernel):
            raise ValueError(f"{self.name}: fan-in {self.weights.fan_in} is not "
                             f"{self.kernel} x {self.kernel} x channels")

    @property
    def in_channels(self) -> int:
        return self.weights.fan_in // (self.kernel * self.kernel)


@dataclass(frozen=True, kw_only=True, eq=False)
class Linear:
    """A dense layer on flat values (N, fan_in): bits with binary weights by
    XNOR-popcount, integers exactly, real values in float64; an optional real bias
    (rows,) float64 is added (the output is then real)."""

    name: str
    inputs: tuple[str]
    weights: Weights
    bias: np.ndarray | None = None

    def __post_init__(self) -> None:
        _check_bias(self.name, self.bias, self.weights.rows)


@dataclass(frozen=True, kw_only=True, eq=False)
class BatchNorm:
    """Inference BatchNorm over the last axis, in float64 as torch computes it:
    ``x * a + b`` with ``a = gamma / sqrt(var + eps)`` and ``b = beta - mean * a``."""

    name: str
    inputs: tuple[str]
    mean: np.ndarray
    var: np.ndarray
    gamma: np.ndarray
    beta: np.ndarray
    eps: float = 1e-5

    def scale_shift(self) -> tuple[np.ndarray, np.ndarray]:
        """(a, b), each (C,) float64."""
        invstd = 1.0 / np.sqrt(np.asarray(self.var, np.float64) + self.eps)
        scale = invstd * np.asarray(self.gamma, np.float64)
        return scale, np.asarray(self.beta, np.float64) - np.asarray(self.mean, np.float64) * scale


@dataclass(frozen=True, kw_only=True, eq=False)
class Sign:
    """+1 (True) where the value is >= 0, else -1 (False)."""

    name: str
    inputs: tuple[str]


@dataclass(frozen=True, kw_only=True, eq=False)
class MaxPool:
    """Max-pooling, window k, stride s, implicit -inf padding p (torch's MaxPool2d,
    floor mode); on bits it is an OR."""

    name: str
    inputs: tuple[str]
    kernel: int
    stride: int
    padding: int = 0

    def __post_init__(self) -> None:
        if self.kernel < 1 or self.stride < 1 or not 0 <= 2 * self.padding <= self.kernel:
            raise ValueError(f"{self.name}: max-pool window {self.kernel}, stride "
                             f"{self.stride}, padding {self.padding}: need padding <= "
                             "half the window")


@dataclass(frozen=True, kw_only=True, eq=False)
class AvgPool:
    """Average pooling, window k, stride s, no padding (floor mode): real output."""

    name: str
    inputs: tuple[str]
    kernel: int
    stride: int

    def __post_init__(self) -> None:
        if self.kernel < 1 or self.stride < 1:
            raise ValueError(f"{self.name}: average-pool window and stride must be >= 1")


@dataclass(frozen=True, kw_only=True, eq=False)
class GlobalAvgPool:
    """The mean of each channel over the map: (N, H, W, C) -> (N, C) real."""

    name: str
    inputs: tuple[str]


@dataclass(frozen=True, kw_only=True, eq=False)
class Add:
    """The sum of two values of one shape (a residual shortcut): real."""

    name: str
    inputs: tuple[str, str]


@dataclass(frozen=True, kw_only=True, eq=False)
class Flatten:
    """(N, H, W, C) -> (N, H*W*C), in (H, W, C) order."""

    name: str
    inputs: tuple[str]


GraphNode = Conv2d | Linear | BatchNorm | Sign | MaxPool | AvgPool | GlobalAvgPool | Add \
    | Flatten
