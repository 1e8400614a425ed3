"""Fault channels of a real MRAM write, read and retention, on packed words.

State convention: a stored bit 1 (weight +1) is the parallel (low-resistance) state P,
bit 0 the antiparallel state AP. Writing 0 -> 1 is an AP->P switch, 1 -> 0 a P->AP
switch; a cell whose content already equals the target is not disturbed by the write.
"""

from dataclasses import dataclass
from typing import Literal

import numpy as np

from mrambnn.bits import WORD_BITS, valid_bit_mask
from mrambnn.memory.faults import check_probability, flip_bits

__all__ = ["AsymmetricFlip", "PRIORS", "WriteFailure", "sample_positions", "sample_set_bits",
           "set_bit_positions"]

PRIORS = ("reset", "random", "previous")


def set_bit_positions(mask_words: np.ndarray, n_bits: int) -> np.ndarray:
    """Row-major data-bit positions (m,) of the bits set in ``mask_words`` (rows, n_words)."""
    bits = np.unpackbits(np.ascontiguousarray(mask_words).view(np.uint8), axis=1,
                         bitorder="little")[:, :n_bits]  # (rows, n_bits)
    return np.flatnonzero(bits)


def sample_positions(candidates: np.ndarray, p: float, *, rng: np.random.Generator
                     ) -> np.ndarray:
    """The ``candidates`` (sorted positions) chosen i.i.d. with probability p, sorted."""
    if p == 0:
        return np.empty(0, dtype=np.int64)
    k = int(rng.binomial(candidates.size, p))
    if k == 0:
        return np.empty(0, dtype=np.int64)
    return np.sort(rng.choice(candidates, size=k, replace=False, shuffle=False))


def sample_set_bits(mask_words: np.ndarray, n_bits: int, p: float, *,
                    rng: np.random.Generator) -> np.ndarray:
    """Row-major data-bit positions (k,) chosen i.i.d. with probability p among set bits.

    ``mask_words`` (rows, n_words) marks the candidate bits.
    """
    if p == 0:
        return np.empty(0, dtype=np.int64)
    return sample_positions(set_bit_positions(mask_words, n_bits), p, rng=rng)


@dataclass(frozen=True, kw_only=True)
class AsymmetricFlip:
    """Stored bits flip with a rate that depends on their state.

    Attributes:
        p_from_one: probability that a stored 1 (P) reads as 0 (P -> AP).
        p_from_zero: probability that a stored 0 (AP) reads as 1 (AP -> P).
    """

    p_from_one: float
    p_from_zero: float

    def __post_init__(self) -> None:
        check_probability("p_from_one", self.p_from_one)
        check_probability("p_from_zero", self.p_from_zero)

    def corrupt(self, words: np.ndarray, n_bits: int, *, rng: np.random.Generator) -> np.ndarray:
        valid = valid_bit_mask(n_bits)
        ones = sample_set_bits(words & valid, n_bits, self.p_from_one, rng=rng)
        zeros = sample_set_bits(~words & valid, n_bits, self.p_from_zero, rng=rng)
        return flip_bits(words, n_bits, np.concatenate([ones, zeros]))


@dataclass(frozen=True, kw_only=True, eq=False)
class WriteFailure:
    """Write errors: a cell that must switch fails with the WER of its direction.

    Attributes:
        wer_ap2p: probability that a 0 -> 1 (AP -> P) write leaves the cell at 0.
        wer_p2ap: probability that a 1 -> 0 (P -> AP) write leaves the cell at 1.
        prior: what the array held before the write: 'reset' (every cell at
            ``reset_bit``), 'random' (i.i.d. fair bits: an array of unknown content), or
            'previous' (``previous`` words, e.g. another network stored before).
        reset_bit: the reset state for ``prior='reset'`` (0 = AP, 1 = P).
        previous: (rows, n_words) uint64 words for ``prior='previous'``.
    """

    wer_ap2p: float
    wer_p2ap: float
    prior: Literal["reset", "random", "previous"] = "random"
    reset_bit: int = 0
    previous: np.ndarray | None = None

    def __post_init__(self) -> None:
        check_probability("wer_ap2p", self.wer_ap2p)
        check_probability("wer_p2ap", self.wer_p2ap)
        if self.prior not in PRIORS:
            raise ValueError(f"unknown prior {self.prior!r}; choose one of {', '.join(PRIORS)}")
        if self.reset_bit not in (0, 1):
            raise ValueError("reset_bit must be 0 or 1")
        if self.prior == "previous" and self.previous is None:
            raise ValueError("prior='previous' needs the previous words")

    def prior_words(self, words: np.ndarray, n_bits: int, *, rng: np.random.Generator
                    ) -> np.ndarray:
        """What the cells hold before the write, (rows, n_words) uint64."""
        valid = valid_bit_mask(n_bits)
        if self.prior == "reset":
            fill = np.uint64(2**WORD_BITS - 1) if self.reset_bit else np.uint64(0)
            return np.full(words.shape, fill, dtype=np.uint64) & valid
        if self.prior == "random":
            return rng.integers(0, 2**64, size=words.shape, dtype=np.uint64) & valid
        assert self.previous is not None
        if self.previous.shape != words.shape:
            raise ValueError(f"previous words {self.previous.shape} do not match {words.shape}")
        return self.previous & valid

    def corrupt(self, words: np.ndarray, n_bits: int, *, rng: np.random.Generator) -> np.ndarray:
        before = self.prior_words(words, n_bits, rng=rng)
        up = sample_set_bits(words & ~before, n_bits, self.wer_ap2p, rng=rng)
        down = sample_set_bits(~words & before, n_bits, self.wer_p2ap, rng=rng)
        return flip_bits(words, n_bits, np.concatenate([up, down]))
