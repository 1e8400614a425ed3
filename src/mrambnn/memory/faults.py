"""Fault models applied to packed weight words as XOR masks.

A fault model corrupts an array of packed rows ``words`` (rows, n_words) uint64 whose
first ``n_bits`` bits per row hold data (the rest is padding and is never touched).
Faults are sampled sparsely: the number of flipped bits is drawn from the binomial law
and their positions uniformly without replacement, which is the same distribution as an
independent Bernoulli(p) draw per bit at a cost proportional to the number of flips.
"""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mrambnn.bits import WORD_BITS

__all__ = ["BitFlip", "FaultModel", "LayerwiseFaults", "check_probability", "flip_bits",
           "sample_flip_positions"]


def check_probability(name: str, value: float) -> float:
    """Return ``value`` as float if it is a probability in [0, 1], else raise ValueError."""
    value = float(value)
    if not 0.0 <= value <= 1.0 or np.isnan(value):
        raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
    return value


def sample_flip_positions(n_total: int, p: float, *, rng: np.random.Generator) -> np.ndarray:
    """Indices (k,) int64 of the bits, among ``n_total``, that an i.i.d. Bernoulli(p) flips.

    k ~ Binomial(n_total, p); the positions are distinct and sorted.
    """
    check_probability("p", p)
    k = int(rng.binomial(n_total, p)) if n_total else 0
    if k == 0:
        return np.empty(0, dtype=np.int64)
    positions = rng.choice(n_total, size=k, replace=False, shuffle=False)
    return np.sort(positions.astype(np.int64))


def flip_bits(words: np.ndarray, n_bits: int, positions: np.ndarray) -> np.ndarray:
    """Copy of ``words`` (rows, n_words) with the data bits at ``positions`` inverted.

    ``positions`` index the data bits row-major: position q is bit ``q % n_bits`` of row
    ``q // n_bits``.
    """
    out = np.array(words, dtype=np.uint64, copy=True)
    if positions.size == 0:
        return out
    row, column = np.divmod(positions, n_bits)
    word, bit = np.divmod(column, WORD_BITS)
    masks = np.left_shift(np.uint64(1), bit.astype(np.uint64))
    np.bitwise_xor.at(out, (row, word), masks)
    return out


class FaultModel(Protocol):
    """Anything that returns a corrupted copy of packed rows."""

    def corrupt(self, words: np.ndarray, n_bits: int, *, rng: np.random.Generator) -> np.ndarray:
        """Corrupted copy of ``words`` (rows, n_words) uint64 with ``n_bits`` data bits/row."""
        ...


@dataclass(frozen=True, kw_only=True)
class BitFlip:
    """Symmetric fault: every stored bit is inverted independently with probability ``ber``.

    Attributes:
        ber: raw bit error rate, the probability that a stored bit differs from its target.
    """

    ber: float

    def __post_init__(self) -> None:
        check_probability("ber", self.ber)

    def corrupt(self, words: np.ndarray, n_bits: int, *, rng: np.random.Generator) -> np.ndarray:
        positions = sample_flip_positions(words.shape[0] * n_bits, self.ber, rng=rng)
        return flip_bits(words, n_bits, positions)


@dataclass(frozen=True, kw_only=True, eq=False)
class LayerwiseFaults:
    """A fault model per layer: each layer's weights are stored under their own write
    condition (selective protection). ``faults[i]`` corrupts layer i; None keeps it
    exact. Layers draw from the stream in order, as `corrupt_net` hands them over.

    Attributes:
        faults: one `FaultModel` (or None) per layer of the network.
    """

    faults: tuple[FaultModel | None, ...]

    def corrupt_layer(self, index: int, words: np.ndarray, n_bits: int, *,
                      rng: np.random.Generator) -> np.ndarray:
        """Layer ``index``'s words (rows, n_words) as read back after its write."""
        if not 0 <= index < len(self.faults):
            raise ValueError(f"layer {index}: the assignment covers layers "
                             f"0..{len(self.faults) - 1}")
        fault = self.faults[index]
        return words.copy() if fault is None else fault.corrupt(words, n_bits, rng=rng)
