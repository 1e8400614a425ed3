"""A memory protected by a block code: raw errors hit every stored bit, data and parity.

Packed weights are cut into messages of ``k`` data bits (one uint64 word for k = 64,
eight for k = 512; the last message is padded with zero words), encoded, hit by i.i.d.
raw bit errors, and decoded; the network reads what the decoder returns, miscorrections
included. Padding bits of a weight row are stored and encoded too; the fault model
clears them after decoding since the hardware ignores them.

Speed: error positions are drawn sparsely, so only messages with at least one error are
touched. A message with at most ``t`` errors is restored without running the decoder:
every code here is a bounded-distance decoder that always corrects it (tests check this
on every code); messages with more errors go through the real decoder.
"""

from dataclasses import dataclass

import numpy as np

from mrambnn.bits import WORD_BITS, pack_bits, unpack_bits, valid_bit_mask
from mrambnn.memory.ecc import BlockCode, get_code
from mrambnn.memory.faults import check_probability, sample_flip_positions

__all__ = ["DecodeCounts", "ECCProtected", "SECDEDProtected", "store_with_code",
           "store_with_secded"]


@dataclass(frozen=True, kw_only=True)
class DecodeCounts:
    """Messages the decoder corrected, detected but could not correct, and miscorrected
    (returned wrong data while reporting success), out of ``n_words`` messages."""

    n_words: int
    corrected: int
    detected: int
    miscorrected: int


def _messages(flat: np.ndarray, code: BlockCode) -> np.ndarray:
    """uint64 words (W,) -> message words (M, k / 64), zero-padded at the end."""
    per = code.k // WORD_BITS
    n_msg = -(-flat.size // per)
    padded = np.zeros(n_msg * per, dtype=np.uint64)
    padded[: flat.size] = flat
    return padded.reshape(n_msg, per)


def store_with_code(words: np.ndarray, code: BlockCode | str, raw_ber: float, *,
                    rng: np.random.Generator) -> tuple[np.ndarray, DecodeCounts]:
    """Encode ``words`` (any shape, uint64), flip each of the n stored bits of every
    codeword with probability ``raw_ber``, decode; returns the decoded words (same shape)
    and the decoder's counts."""
    check_probability("raw_ber", raw_ber)
    code = get_code(code) if isinstance(code, str) else code
    if code.k % WORD_BITS:
        raise ValueError(f"{code.name}: k = {code.k} is not a whole number of 64-bit words")
    flat = np.ascontiguousarray(words, dtype=np.uint64).reshape(-1)
    messages = _messages(flat, code)
    positions = sample_flip_positions(messages.shape[0] * code.n, raw_ber, rng=rng)
    message_index, bit = np.divmod(positions, code.n)
    hit, n_errors = np.unique(message_index, return_counts=True)
    over = n_errors > code.t  # these need the real decoder
    to_decode = hit[over]
    decoded_messages = messages.copy()
    detected = miscorrected = corrected_by_decoder = 0
    if to_decode.size:
        data_bits = unpack_bits(messages[to_decode], code.k)
        received = code.encode(data_bits)
        row_of = np.full(messages.shape[0], -1, dtype=np.int64)
        row_of[to_decode] = np.arange(to_decode.size)
        keep = row_of[message_index] >= 0
        np.bitwise_xor.at(received, (row_of[message_index[keep]], bit[keep]), np.uint8(1))
        result = code.decode(received)
        decoded_messages[to_decode] = pack_bits(result.data)
        wrong = np.any(decoded_messages[to_decode] != messages[to_decode], axis=1)
        detected = int(result.detected.sum())
        miscorrected = int((wrong & ~result.detected).sum())
        corrected_by_decoder = int(result.corrected.sum())
    counts = DecodeCounts(n_words=int(messages.shape[0]),
                          corrected=int((~over).sum()) + corrected_by_decoder,
                          detected=detected, miscorrected=miscorrected)
    decoded = decoded_messages.reshape(-1)[: flat.size]
    return decoded.reshape(np.shape(words)), counts


def store_with_secded(words: np.ndarray, raw_ber: float, *, rng: np.random.Generator
                      ) -> tuple[np.ndarray, DecodeCounts]:
    """`store_with_code` with SECDED(72, 64)."""
    return store_with_code(words, "secded-72-64", raw_ber, rng=rng)


@dataclass(frozen=True, kw_only=True)
class ECCProtected:
    """Fault model: a memory protected by ``code`` with i.i.d. raw bit errors ``raw_ber``."""

    code: str
    raw_ber: float

    def __post_init__(self) -> None:
        check_probability("raw_ber", self.raw_ber)
        get_code(self.code)

    def corrupt(self, words: np.ndarray, n_bits: int, *, rng: np.random.Generator) -> np.ndarray:
        decoded, _ = store_with_code(words, self.code, self.raw_ber, rng=rng)
        return decoded & valid_bit_mask(n_bits)


def SECDEDProtected(*, raw_ber: float) -> ECCProtected:  # noqa: N802 - kept as a constructor
    """A SECDED(72, 64)-protected memory (shorthand for `ECCProtected`)."""
    return ECCProtected(code="secded-72-64", raw_ber=raw_ber)
