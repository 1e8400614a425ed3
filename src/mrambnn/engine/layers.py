"""Layer records of a packed network: binary weights plus what follows the dot product.

A hidden layer ends in a `Threshold` (BatchNorm followed by sign, folded into an integer
comparison); the output layer ends in an `Affine` map (its BatchNorm) giving class scores.
"""

from dataclasses import dataclass

import numpy as np

from mrambnn.bits import n_words

__all__ = ["Affine", "Dense", "Head", "Threshold"]


@dataclass(frozen=True, kw_only=True, eq=False)
class Threshold:
    """Output bit = 1 (+1) where ``direction * a >= threshold``, else 0 (-1).

    Attributes:
        threshold: (out,) int64; pre-activations ``a`` are integers, so an integer bound
            is exact. Folding: BN(a) >= 0 <=> a >= mu - beta*sigma/gamma when gamma > 0.
        direction: (out,) int8 in {+1, -1}; -1 where the BatchNorm scale is negative.
    """

    threshold: np.ndarray
    direction: np.ndarray

    def __post_init__(self) -> None:
        if self.threshold.ndim != 1 or self.threshold.shape != self.direction.shape:
            raise ValueError("threshold and direction must be 1-D arrays of equal length")
        if not np.all(np.abs(self.direction) == 1):
            raise ValueError("direction must hold only +1 and -1")

    def apply(self, preactivation: np.ndarray) -> np.ndarray:
        """(N, out) integer pre-activations -> (N, out) bool output bits."""
        return self.direction * preactivation >= self.threshold


@dataclass(frozen=True, kw_only=True, eq=False)
class Affine:
    """Class scores ``a * scale + offset`` (float64); ``scale``, ``offset`` shape (out,)."""

    scale: np.ndarray
    offset: np.ndarray

    def __post_init__(self) -> None:
        if self.scale.ndim != 1 or self.scale.shape != self.offset.shape:
            raise ValueError("scale and offset must be 1-D arrays of equal length")

    def apply(self, preactivation: np.ndarray) -> np.ndarray:
        """(N, out) integer pre-activations -> (N, out) float64 scores."""
        return preactivation * self.scale + self.offset

    @property
    def direction(self) -> np.ndarray:
        """(out,) int8 ones: an output layer's margins are its pre-activations."""
        return np.ones(self.scale.shape, np.int8)


Head = Threshold | Affine


@dataclass(frozen=True, kw_only=True, eq=False)
class Dense:
    """A fully connected layer with +-1 weights stored as packed bits.

    Attributes:
        weight_words: (out, n_words(in_features)) uint64; row i holds neuron i's weights
            in the `mrambnn.bits` convention (bit 1 = +1), padding bits 0.
        in_features: number of inputs.
        integer_input: True for a first layer fed integer pixels (dot product of integers
            with +-1 weights); False when the input is packed +-1 activations.
        head: `Threshold` for a hidden layer, `Affine` for the output layer.
    """

    weight_words: np.ndarray
    in_features: int
    integer_input: bool
    head: Head

    def __post_init__(self) -> None:
        w = self.weight_words
        if w.dtype != np.uint64 or w.ndim != 2 or w.shape[1] != n_words(self.in_features):
            raise ValueError(
                f"weight_words must be uint64 (out, {n_words(self.in_features)}), "
                f"got {w.dtype} {w.shape}"
            )
        head_size = (
            self.head.threshold.size if isinstance(self.head, Threshold) else self.head.scale.size
        )
        if head_size != w.shape[0]:
            raise ValueError(f"head has {head_size} outputs, weights have {w.shape[0]} rows")

    @property
    def out_features(self) -> int:
        return int(self.weight_words.shape[0])

    @property
    def n_weights(self) -> int:
        """Number of binary weights (= stored data bits)."""
        return self.out_features * self.in_features
