"""A memory protected by SECDED(72, 64): raw errors hit all 72 stored bits of a word.

The network reads what the decoder returns, miscorrections included. Each weight row
occupies whole 64-bit words (as the engine packs it); padding bits are stored and
encoded too, and are cleared after decoding since the hardware ignores them.
"""

from dataclasses import dataclass

import numpy as np

from mrambnn.bits import valid_bit_mask
from mrambnn.memory.faults import check_probability, sample_flip_positions
from mrambnn.memory.secded import SECDED

__all__ = ["DecodeCounts", "SECDEDProtected", "store_with_secded"]


@dataclass(frozen=True, kw_only=True)
class DecodeCounts:
    """Words the decoder corrected, detected but could not correct, and miscorrected
    (returned wrong data while reporting success), out of ``n_words``."""

    n_words: int
    corrected: int
    detected: int
    miscorrected: int


def store_with_secded(words: np.ndarray, raw_ber: float, *, rng: np.random.Generator
                      ) -> tuple[np.ndarray, DecodeCounts]:
    """Encode ``words`` (any shape, uint64), flip each of the 72 stored bits of every
    codeword with probability ``raw_ber``, decode; returns the decoded words and counts."""
    check_probability("raw_ber", raw_ber)
    flat = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1)
    check = SECDED.encode(flat)
    positions = sample_flip_positions(flat.size * SECDED.n, raw_ber, rng=rng)
    word, bit = np.divmod(positions, SECDED.n)
    data, parity = flat.copy(), check.copy()
    in_data = bit < 64
    np.bitwise_xor.at(data, word[in_data],
                      np.left_shift(np.uint64(1), bit[in_data].astype(np.uint64)))
    np.bitwise_xor.at(parity, word[~in_data],
                      np.left_shift(np.uint8(1), (bit[~in_data] - 64).astype(np.uint8)))
    result = SECDED.decode(data, parity)
    wrong = result.data != flat
    counts = DecodeCounts(n_words=flat.size, corrected=int(result.corrected.sum()),
                          detected=int(result.detected.sum()),
                          miscorrected=int((wrong & ~result.detected).sum()))
    return result.data.reshape(words.shape), counts


@dataclass(frozen=True, kw_only=True)
class SECDEDProtected:
    """Fault model: a SECDED-protected memory with i.i.d. raw bit errors ``raw_ber``."""

    raw_ber: float

    def __post_init__(self) -> None:
        check_probability("raw_ber", self.raw_ber)

    def corrupt(self, words: np.ndarray, n_bits: int, *, rng: np.random.Generator) -> np.ndarray:
        decoded, _ = store_with_secded(words, self.raw_ber, rng=rng)
        return decoded & valid_bit_mask(n_bits)
