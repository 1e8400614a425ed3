"""Binary BCH codes, shortened, with a compiled decoder that works on all words at once.

`galois` builds each code once (its field GF(2^m), primitive element and roots); the
encoder is then the code's systematic parity matrix (a GF(2) matrix product) and the
decoder a numba kernel that, for every received word, computes the 2t syndromes,
runs Berlekamp-Massey for the error locator Lambda(x) and searches its roots over the
stored positions (Chien search). It is the bounded-distance decoder galois implements and
returns the same words and counts (checked on random words in the tests): a word is
corrected when Lambda has degree v <= t and exactly v distinct roots among the n stored
positions; otherwise the decoder reports failure and returns the word as received.

Bit order (galois' convention): codeword bit ``i`` of ``n`` is the coefficient of
x^(n - 1 - i); the first k bits are the data.
"""

from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
from numba import njit

__all__ = ["BCHTables", "bch_decode", "bch_encode", "bch_tables"]


@dataclass(frozen=True, kw_only=True, eq=False)
class BCHTables:
    """What the compiled encoder and decoder need of a shortened BCH code.

    Attributes:
        exp: (2 * order,) int64, exp[j] = alpha^j as an m-bit integer (twice over, so
            that sums of two logarithms need no reduction).
        log: (order + 1,) int64, the inverse of exp on non-zero elements (log[0] unused).
        root_logs: (2t,) int64, the logarithms of the code's roots alpha^c .. alpha^(c+2t-1).
        parity: (k, n - k) uint8, the parity bits of each unit data word.
    """

    exp: np.ndarray
    log: np.ndarray
    root_logs: np.ndarray
    parity: np.ndarray

    @property
    def order(self) -> int:
        """2^m - 1, the multiplicative order of alpha."""
        return self.log.size - 1


@cache
def bch_tables(n_full: int, k_full: int, k: int) -> BCHTables:
    """Tables of galois' BCH(n_full, k_full) shortened to k data bits (built once)."""
    try:
        import galois
    except ImportError as error:  # pragma: no cover - depends on the installation
        raise ImportError("BCH codes need galois: pip install 'mrambnn[ecc]'") from error
    code: Any = galois.BCH(n_full, k_full)
    field = code.extension_field
    order = field.order - 1
    alpha = field(int(code.alpha))
    powers = np.asarray(alpha ** np.arange(order), dtype=np.int64)
    log = np.zeros(order + 1, dtype=np.int64)
    log[powers] = np.arange(order)
    root_logs = log[np.asarray(code.roots, dtype=np.int64)]
    n = n_full - (k_full - k)
    unit = code.encode(galois.GF2(np.eye(k, dtype=np.uint8)))
    parity = np.asarray(unit, dtype=np.uint8)[:, k:n]
    return BCHTables(exp=np.concatenate([powers, powers]), log=log,
                     root_logs=root_logs.astype(np.int64), parity=parity)


@njit(cache=True, nogil=True)
def _multiply(a: int, b: int, exp: np.ndarray, log: np.ndarray) -> int:
    if a == 0 or b == 0:
        return 0
    return exp[log[a] + log[b]]


@njit(cache=True, nogil=True)
def _error_locator(syndromes: np.ndarray, exp: np.ndarray, log: np.ndarray, order: int,
                   locator: np.ndarray, previous: np.ndarray, saved: np.ndarray) -> int:
    """Berlekamp-Massey on the syndromes; writes Lambda (ascending) into ``locator`` and
    returns its degree (trailing zeros dropped)."""
    size = syndromes.size
    locator[:] = 0
    previous[:] = 0
    locator[0] = 1
    previous[0] = 1
    length = 0
    shift = 1
    last = 1
    for step in range(size):
        discrepancy = 0
        for i in range(length + 1):
            discrepancy ^= _multiply(syndromes[step - i], locator[i], exp, log)
        if discrepancy == 0:
            shift += 1
            continue
        scale = exp[log[discrepancy] + order - log[last]]
        grow = 2 * length <= step
        if grow:
            saved[:] = locator
        for i in range(shift, size + 1):
            locator[i] ^= _multiply(scale, previous[i - shift], exp, log)
        if grow:
            length = step + 1 - length
            previous[:] = saved
            last = discrepancy
            shift = 1
        else:
            shift += 1
    degree = length
    while degree > 0 and locator[degree] == 0:
        degree -= 1
    return degree


@njit(cache=True, nogil=True)
def _decode_words(received: np.ndarray, exp: np.ndarray, log: np.ndarray,
                  root_logs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, n) uint8 received words -> (decoded words (N, n) uint8, errors corrected per
    word (N,) int64: 0 none, v corrected, -1 uncorrectable)."""
    n_words, n = received.shape
    order = log.size - 1
    two_t = root_logs.size
    decoded = received.copy()
    n_errors = np.zeros(n_words, dtype=np.int64)
    syndromes = np.zeros(two_t, dtype=np.int64)
    locator = np.zeros(two_t + 1, dtype=np.int64)
    previous = np.zeros(two_t + 1, dtype=np.int64)
    saved = np.zeros(two_t + 1, dtype=np.int64)
    roots = np.zeros(two_t + 1, dtype=np.int64)
    for word in range(n_words):
        syndromes[:] = 0
        for index in range(n):
            if received[word, index]:
                degree = n - 1 - index
                for j in range(two_t):
                    syndromes[j] ^= exp[(root_logs[j] * degree) % order]
        if not syndromes.any():
            continue
        v = _error_locator(syndromes, exp, log, order, locator, previous, saved)
        if 2 * v > two_t:
            n_errors[word] = -1
            continue
        found = 0
        for position in range(n):  # Chien search: Lambda(alpha^-position) == 0
            step = (order - position % order) % order
            value = 0
            for j in range(v + 1):
                if locator[j]:
                    value ^= exp[(log[locator[j]] + j * step) % order]
            if value == 0:
                if found < v:
                    roots[found] = position
                found += 1
        if found != v:
            n_errors[word] = -1
            continue
        for j in range(v):
            decoded[word, n - 1 - roots[j]] ^= 1
        n_errors[word] = v
    return decoded, n_errors


def bch_encode(tables: BCHTables, data: np.ndarray) -> np.ndarray:
    """(N, k) uint8 0/1 data -> (N, n) uint8 codewords, data first."""
    parity = (data.astype(np.int32) @ tables.parity.astype(np.int32)) & 1
    return np.concatenate([data, parity.astype(np.uint8)], axis=1)


def bch_decode(tables: BCHTables, received: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N, n) uint8 0/1 received words -> (decoded words (N, n) uint8, errors corrected
    per word (N,) int64: 0 where the syndromes are zero, -1 where the decoder failed)."""
    return _decode_words(np.ascontiguousarray(received, dtype=np.uint8), tables.exp,
                         tables.log, tables.root_logs)
