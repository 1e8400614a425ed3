"""Extended Hamming SECDED(72, 64) on arrays of uint64 words, fully vectorised.

Construction: data bit k takes the k-th integer in 1..71 that is not a power of two as its
Hamming position; check bit j (j = 0..6, position 2^j) is the parity of the data bits
whose position has bit j set; check bit 7 is the parity of all 71 other bits. The
syndrome (7 bits) of a single error is the position of the flipped bit; the overall
parity tells odd from even error counts. Decoding:
- syndrome 0, parity even: no error;
- parity odd: one error (corrected; syndrome 0 = the overall parity bit itself; a
  syndrome beyond position 71 cannot come from one error and is reported uncorrectable);
- syndrome != 0, parity even: two errors, detected, returned uncorrected.
Three or more errors may be miscorrected: that is what the residual error rate counts.
"""

from dataclasses import dataclass

import numpy as np

__all__ = ["SECDED", "SYNDROMES", "DecodeResult"]

_N_DATA = 64
_N_CHECK = 7
_POSITIONS = np.array([p for p in range(1, 72) if p & (p - 1)], dtype=np.int64)  # (64,)
_CHECK_MASKS = np.array(
    [sum(1 << k for k in range(_N_DATA) if (_POSITIONS[k] >> j) & 1) for j in range(_N_CHECK)],
    dtype=np.uint64)  # (7,)
# Syndrome -> data bit index (-1: a check bit or no data bit; -2: impossible position).
_SYNDROME_TO_DATA = np.full(128, -2, dtype=np.int64)
_SYNDROME_TO_DATA[[1 << j for j in range(_N_CHECK)]] = -1
_SYNDROME_TO_DATA[0] = -1
_SYNDROME_TO_DATA[_POSITIONS] = np.arange(_N_DATA)
# 7-bit syndrome of an error in each of the 72 stored bits: data bits, check bits, and the
# overall parity bit (syndrome 0). A syndrome XOR <= 71 always names some position.
SYNDROMES = np.concatenate([_POSITIONS, [1 << j for j in range(_N_CHECK)], [0]])


@dataclass(frozen=True, kw_only=True, eq=False)
class DecodeResult:
    """Decoded data and what the decoder did, per word (all arrays shape (N,)).

    Attributes:
        data: uint64 decoded data words.
        corrected: a single error was corrected (in data or check bits).
        detected: an error pattern was detected and not corrected.
    """

    data: np.ndarray
    corrected: np.ndarray
    detected: np.ndarray


def _parity(words: np.ndarray) -> np.ndarray:
    return (np.bitwise_count(words) & 1).astype(np.uint8)


class SECDED:
    """The (72, 64) code: 64 data bits, 8 check bits (12.5 % overhead)."""

    n = 72
    k = 64
    t = 1

    @staticmethod
    def encode(data: np.ndarray) -> np.ndarray:
        """Check bytes (N,) uint8 of data words (N,) uint64: bits 0..6 Hamming, bit 7 parity."""
        data = np.asarray(data, dtype=np.uint64)
        check = np.zeros(data.shape, dtype=np.uint8)
        for j, mask in enumerate(_CHECK_MASKS):
            check |= _parity(data & mask) << np.uint8(j)
        overall = _parity(data) ^ (np.bitwise_count(check) & 1).astype(np.uint8)
        return check | (overall << np.uint8(7))

    @staticmethod
    def decode(data: np.ndarray, check: np.ndarray) -> DecodeResult:
        """Decode received data words (N,) uint64 and check bytes (N,) uint8."""
        data = np.asarray(data, dtype=np.uint64)
        check = np.asarray(check, dtype=np.uint8)
        recomputed = SECDED.encode(data)
        syndrome = ((recomputed ^ check) & np.uint8(0x7F)).astype(np.int64)
        parity_odd = (_parity(data) ^ (np.bitwise_count(check) & 1).astype(np.uint8)) == 1
        target = _SYNDROME_TO_DATA[syndrome]
        single = parity_odd & (target >= -1)
        flip = single & (target >= 0)
        shift = np.where(flip, target, 0).astype(np.uint64)
        fixed = data ^ np.where(flip, np.left_shift(np.uint64(1), shift), np.uint64(0))
        detected = (~parity_odd & (syndrome != 0)) | (parity_odd & (target == -2))
        return DecodeResult(data=fixed, corrected=single, detected=detected)
