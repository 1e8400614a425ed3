"""Error-correcting codes on bit matrices: none, SECDED(72, 64) and binary BCH codes.

Every code here is systematic and works on 0/1 ``uint8`` matrices: ``encode`` maps data
(N, k) to codewords (N, n) whose first k bits are the data; ``decode`` maps received words
(N, n) to a `CodeDecode`. The BCH codes are shortened primitive narrow-sense codes built
by the `galois` library (imported only when a BCH code is first used):

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
from functools import cache
from typing import Any, Protocol

import numpy as np

from mrambnn.bits import pack_bits, unpack_bits
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


@cache
def _galois_bch(n_full: int, k_full: int) -> Any:
    try:
        import galois
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError("BCH codes need galois: pip install 'mrambnn[ecc]'") from error
    return galois.BCH(n_full, k_full)


@dataclass(frozen=True)
class BCHCode:
    """A binary BCH code (n_full, k_full) shortened to (n, k) = (n_full - s, k_full - s).

    Attributes:
        name: registry name.
        n_full, k_full: the primitive code, n_full = 2^m - 1.
        k: data bits per word after shortening.
        t: designed correction capability (checked against galois on first use).
    """

    name: str
    n_full: int
    k_full: int
    k: int
    t: int

    @property
    def n(self) -> int:
        return self.n_full - (self.k_full - self.k)

    def _code(self) -> Any:
        code = _galois_bch(self.n_full, self.k_full)
        if code.t != self.t:  # pragma: no cover - a wrong table entry
            raise RuntimeError(f"{self.name}: galois says t = {code.t}, not {self.t}")
        return code

    def encode(self, data: np.ndarray) -> np.ndarray:
        import galois

        bits = _as_bits(data, self.k, "data")
        return np.asarray(self._code().encode(galois.GF2(bits)), dtype=np.uint8)

    def decode(self, received: np.ndarray) -> CodeDecode:
        import galois

        bits = _as_bits(received, self.n, "received")
        if len(bits) == 0:
            return CodeDecode(data=np.zeros((0, self.k), np.uint8),
                              corrected=np.zeros(0, bool), detected=np.zeros(0, bool))
        message, n_errors = self._code().decode(galois.GF2(bits), errors=True)
        n_errors = np.asarray(n_errors).reshape(-1)
        return CodeDecode(data=np.asarray(message, dtype=np.uint8).reshape(len(bits), self.k),
                          corrected=n_errors > 0, detected=n_errors < 0)


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
