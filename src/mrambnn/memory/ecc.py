"""Error-correcting codes on bit matrices: none, SECDED(72, 64) and binary BCH codes.

Every code here is systematic and works on 0/1 ``uint8`` matrices: ``encode`` maps data
(N, k) to codewords (N, n) whose first k bits are the data; ``decode`` maps received words
(N, n) to a `CodeDecode`. The BCH codes are shortened primitive narrow-sense codes built
by the `galois` library (imported only when a BCH code is first used) and decoded by
the compiled decoder of `mrambnn.memory.bch`:

| name            | (n, k)     | corrects | from               |
|-----------------|------------|----------|--------------------|
| none            | (64, 64)   | 0        | -                  |
| secded-72-64    | (72, 64)   | 1, detects 2 | extended Hamming (`mrambnn.memory.secded`) |
| bch-dec-78-64   | (78, 64)   | 2        | BCH(127, 113) shortened by 49 |
| bch-tec-85-64   | (85, 64)   | 3        | BCH(127, 106) shortened by 42 |
| bch-dec-532-512 | (532, 512) | 2        | BCH(1023, 1003) shortened by 491 |

All are bounded-distance decoders: a word with at most ``t`` errors is always corrected;
with more, the decoder either reports failure (and returns the data bits as received) or
decodes to a wrong codeword (a miscorrection).
"""

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mrambnn.bits import pack_bits, unpack_bits
from mrambnn.memory.bch import BCHTables, bch_decode, bch_encode, bch_tables
from mrambnn.memory.secded import SECDED

__all__ = ["CODE_NAMES", "BCHCode", "BlockCode", "CodeDecode", "NoECC", "SECDEDCode",
           "get_code"]


@dataclass(frozen=True, kw_only=True, eq=False)
class CodeDecode:
    """What a decoder returned, per word.

    Attributes:
        data: (N, k) uint8 decoded data bits.
        corrected: (N,) bool, the decoder changed at least one bit and reported success.
        detected: (N,) bool, the decoder reported an uncorrectable word.
    """

    data: np.ndarray
    corrected: np.ndarray
    detected: np.ndarray


class BlockCode(Protocol):
    """A systematic (n, k) binary block code correcting ``t`` errors per word."""

    @property
    def name(self) -> str: ...

    @property
    def n(self) -> int: ...

    @property
    def k(self) -> int: ...

    @property
    def t(self) -> int: ...

    def encode(self, data: np.ndarray) -> np.ndarray: ...

    def decode(self, received: np.ndarray) -> CodeDecode: ...


def _as_bits(array: np.ndarray, width: int, what: str) -> np.ndarray:
    bits = np.asarray(array)
    if bits.ndim != 2 or bits.shape[1] != width:
        raise ValueError(f"{what} must be a (N, {width}) 0/1 array, got shape {bits.shape}")
    if bits.size and (bits.min() < 0 or bits.max() > 1):
        raise ValueError(f"{what} must hold only 0 and 1")
    return bits.astype(np.uint8, copy=False)


@dataclass(frozen=True)
class NoECC:
    """No code: 64 data bits stored as they are (the BNN memory)."""

    name: str = "none"
    n: int = 64
    k: int = 64
    t: int = 0

    def encode(self, data: np.ndarray) -> np.ndarray:
        return _as_bits(data, self.k, "data").copy()

    def decode(self, received: np.ndarray) -> CodeDecode:
        bits = _as_bits(received, self.n, "received").copy()
        none = np.zeros(len(bits), dtype=bool)
        return CodeDecode(data=bits, corrected=none, detected=none.copy())


@dataclass(frozen=True)
class SECDEDCode:
    """Extended Hamming SECDED(72, 64): bits 0..63 data, 64..71 the check byte."""

    name: str = "secded-72-64"
    n: int = 72
    k: int = 64
    t: int = 1

    def encode(self, data: np.ndarray) -> np.ndarray:
        bits = _as_bits(data, self.k, "data")
        check = SECDED.encode(pack_bits(bits)[:, 0])
        check_bits = np.unpackbits(check[:, None], axis=1, bitorder="little")
        return np.concatenate([bits, check_bits], axis=1)

    def decode(self, received: np.ndarray) -> CodeDecode:
        bits = _as_bits(received, self.n, "received")
        data = pack_bits(bits[:, :64])[:, 0]
        check = np.packbits(bits[:, 64:], axis=1, bitorder="little")[:, 0]
        result = SECDED.decode(data, check)
        return CodeDecode(data=unpack_bits(result.data[:, None], 64),
                          corrected=result.corrected, detected=result.detected)


@dataclass(frozen=True)
class BCHCode:
    """A binary BCH code (n_full, k_full) shortened to (n, k) = (n_full - s, k_full - s),
    decoded by the compiled decoder of `mrambnn.memory.bch` (galois' decoder, all words
    at once).

    Attributes:
        name: registry name.
        n_full, k_full: the primitive code, n_full = 2^m - 1.
        k: data bits per word after shortening.
        t: designed correction capability (checked against the code's roots on first use).
    """

    name: str
    n_full: int
    k_full: int
    k: int
    t: int

    @property
    def n(self) -> int:
        return self.n_full - (self.k_full - self.k)

    def tables(self) -> BCHTables:
        """The code's field, roots and parity matrix (built by galois on first use)."""
        tables = bch_tables(self.n_full, self.k_full, self.k)
        if tables.root_logs.size != 2 * self.t:  # pragma: no cover - a wrong table entry
            raise RuntimeError(f"{self.name}: the code has {tables.root_logs.size} roots, "
                               f"not 2t = {2 * self.t}")
        return tables

    def encode(self, data: np.ndarray) -> np.ndarray:
        return bch_encode(self.tables(), _as_bits(data, self.k, "data"))

    def decode_words(self, received: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(N, n) 0/1 received words -> (decoded words (N, n) uint8, errors corrected per
        word (N,) int64: 0 none, -1 where the decoder failed and kept the word)."""
        return bch_decode(self.tables(), _as_bits(received, self.n, "received"))

    def decode(self, received: np.ndarray) -> CodeDecode:
        words, n_errors = self.decode_words(received)
        return CodeDecode(data=words[:, : self.k].copy(), corrected=n_errors > 0,
                          detected=n_errors < 0)


_CODES: dict[str, BlockCode] = {
    "none": NoECC(),
    "secded-72-64": SECDEDCode(),
    "bch-dec-78-64": BCHCode("bch-dec-78-64", 127, 113, 64, 2),
    "bch-tec-85-64": BCHCode("bch-tec-85-64", 127, 106, 64, 3),
    "bch-dec-532-512": BCHCode("bch-dec-532-512", 1023, 1003, 512, 2),
}
CODE_NAMES = tuple(_CODES)


def get_code(name: str) -> BlockCode:
    """The code registered as ``name`` (one of `CODE_NAMES`)."""
    try:
        return _CODES[name]
    except KeyError:
        raise ValueError(f"unknown code {name!r}; choose one of {', '.join(CODE_NAMES)}"
                         ) from None
