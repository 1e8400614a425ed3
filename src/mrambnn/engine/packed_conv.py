"""k x k convolution with packed words out: the full pass's conv layers.

Output maps, and the inputs of binary layers, are (N, H, W, n_words(C)) uint64, each
pixel's channels packed (bit c of word c // 64 is channel c, +1 = 1, padding bits 0).
Per image the input is copied once into a zero-bordered buffer, so that every output
pixel reads the same k x k patch offsets and a register tile
(`mrambnn.engine.register_tiles`) sums four pixels by 16 filters (binary layers) or eight
pixels by up to 48 filters (first layer) in registers.

- Binary layers sum disagreeing bits. A zero word disagrees with a weight word on the
  weight's ones, so a padded neighbour adds ``popcount(w)`` where it should add nothing:
  that count, fixed for each border class of output pixel, shifts the pixel's bounds
  instead (exact: an integer shift of both bounds).
- The first layer sums 16-bit integer pixels where the weight is +1 (P) and the whole
  patch (S): the pre-activation is 2 P - S, exact in 16-bit arithmetic that wraps (only
  the result needs to fit). A padded pixel is 0 and adds nothing.
  Inputs whose sums could leave 16 bits are not taken here (`fits_signed_tile`).

The tile itself compares its sums with the folded threshold's bounds (those of each
pixel's border class) and stores the output bits, eight or sixteen filters per byte
pair, already in the packed order; pooling then works on words: the OR of the bits, or
where the BatchNorm scale is negative the AND (the OR of the complements, complemented).
"""

import numpy as np
from numba import njit

from mrambnn.bits import n_words, pack_bits
from mrambnn.engine.conv_operands import pixel_tables
from mrambnn.engine.register_tiles import (
    MASKED_LANES,
    WORD_LANES,
    make_masked_sum_tile,
    make_popcount_tile,
)
from mrambnn.engine.threads import IMAGES_PER_BLOCK, in_blocks

__all__ = ["SumsTooWide", "binary_conv_words", "border_classes", "fits_signed_tile",
           "integer_conv_words"]

TILE_PIXELS = 4
_WORD_VECTORS = 2  # 4 pixels x 16 filters: 8 accumulators of 8 x 64 bits
_WORD_FILTERS = _WORD_VECTORS * WORD_LANES
_CHUNK = 32  # bound-table columns: the outputs rounded up to a multiple of this
_popcount_tile = make_popcount_tile(TILE_PIXELS, _WORD_VECTORS, bounded=True)
# first layer: 8 pixels by 16, 32 or 48 filters per tile (8 x 3 accumulators of 16 x 16
# bits at most); with 4 pixels the same layer ran 1.5x slower (its per-term loads of
# sign words and offsets then weigh more)
INTEGER_TILE_PIXELS = 8
_masked_tile_1 = make_masked_sum_tile(INTEGER_TILE_PIXELS, 1, bounded=True)
_masked_tile_2 = make_masked_sum_tile(INTEGER_TILE_PIXELS, 2, bounded=True)
_masked_tile_3 = make_masked_sum_tile(INTEGER_TILE_PIXELS, 3, bounded=True)
_INT16_REACH = 2**15 - 2  # largest |sum| (and bound) int16 holds with room for +-(reach + 1)


class SumsTooWide(ValueError):
    """First-layer inputs whose sums could leave 16 bits (`integer_conv_words`)."""


def _round_up(n: int, step: int) -> int:
    return -(-n // step) * step


def border_classes(size: int, k: int, padding: int) -> tuple[np.ndarray, np.ndarray]:
    """Output coordinates along one axis grouped by which of the k filter offsets fall
    outside the map: (class of each of the size + 2 padding - k + 1 coordinates) int64,
    and (classes, k) bool, True where the offset is inside."""
    conv = size + 2 * padding - k + 1
    position = np.arange(conv)[:, None] + np.arange(k)[None, :] - padding
    inside = (position >= 0) & (position < size)
    patterns, cls = np.unique(inside, axis=0, return_inverse=True)
    return cls.reshape(-1).astype(np.int64), patterns


@njit(inline="always", cache=True)
def _copy_bordered(buffer, flat, i, h, width, c, padding, wide):  # type: ignore[no-untyped-def]
    """Image i of the maps ``flat`` (n, H W c) into the interior of the zero-bordered
    buffer, rows of ``wide`` pixels of c values: one contiguous run per row."""
    run = width * c
    for yy in range(h):
        row = ((yy + padding) * wide + padding) * c
        source = yy * run
        for q in range(run):
            buffer[row + q] = flat[i, source + q]


@njit(inline="always", cache=True)
def _row_tables(tables, row_class, col_cls, filters32):  # type: ignore[no-untyped-def]
    """Each pixel's start in the flat bound tables, for a conv row of class ``row_class``
    (times the column classes); pixels past the row keep table 0."""
    for xx in range(col_cls.size):
        tables[xx] = (row_class + col_cls[xx]) * filters32


@njit(inline="always", cache=True)
def _store_row(bits, start, row_pixels, n_out_pixels, negative, valid, pool, out, first
               ):  # type: ignore[no-untyped-def]
    """One output row from its conv row's packed bits (from ``start``; two rows,
    ``row_pixels`` pixels apart, where ``pool``; words of pixel x at ``x * words``) into
    the flat words ``out`` from ``first``, ANDed with ``valid``. A pooled bit is the OR of
    its window's bits, computed on complements (XOR ``negative``) where the scale is
    negative: an AND. The tiles wrote those bits a byte or two at a time; read back at
    once, each word may wait for those stores to drain (the first layer's kernel, whose
    row store measured 3.3 us an image, stores a row after computing the next: 0.4 us)."""
    words = valid.size
    for ox in range(n_out_pixels):
        for word in range(words):
            if pool:
                flip = negative[word]
                left = start + (2 * ox) * words + word
                right = row_pixels * words + left
                value = ((bits[left] ^ flip) | (bits[left + words] ^ flip)
                         | (bits[right] ^ flip) | (bits[right + words] ^ flip)) ^ flip
            else:
                value = bits[start + ox * words + word]
            out[first + ox * words + word] = value & valid[word]


def _binary_body(x, w, offsets, padding, lo, hi, filters32, row_cls, col_cls, n_col_cls,
                 negative, valid, pool, out):  # type: ignore[no-untyped-def]
    # x (n, H, W, nw) uint64; w flat (k k nw * F16) uint64, rows (ky, kx, word), filters
    # contiguous; offsets (k k nw,) int64: each row's word in the bordered buffer; lo, hi
    # flat (classes * F32) int32 bounds on the summed disagreements (border included);
    # negative, valid (nw_out,) uint64; out (n, H'', W'', nw_out).
    n, h, width, nw = x.shape
    filters16 = w.size // offsets.size
    words = out.shape[3]
    wide = width + 2 * padding + TILE_PIXELS
    buffer = np.zeros((h + 2 * padding) * wide * nw, np.uint64)
    row_pixels = col_cls.size + TILE_PIXELS
    bits = np.zeros(2 * row_pixels * words, np.uint64)  # one output row's conv rows
    bit_bytes = bits.view(np.uint8)
    tables = np.zeros(row_pixels, np.int64)
    flat = x.reshape(n, -1)
    out_flat = out.reshape(-1)
    step = 2 if pool else 1
    out_row = out.shape[2] * words
    for i in range(n):
        _copy_bordered(buffer, flat, i, h, width, nw, padding, wide)
        for oy in range(out.shape[1]):
            for r in range(step):
                y = oy * step + r
                _row_tables(tables, row_cls[y] * n_col_cls, col_cls, filters32)
                for x0 in range(0, col_cls.size, TILE_PIXELS):
                    base = (y * wide + x0) * nw
                    for f0 in range(0, filters16, _WORD_FILTERS):
                        _popcount_tile(bit_bytes, (r * row_pixels + x0) * 8 * words + f0 // 8,
                                       8 * words, buffer, base, nw, offsets, w, f0, filters16,
                                       offsets.size, lo, hi, tables, x0)
            _store_row(bits, 0, row_pixels, out.shape[2], negative, valid, pool, out_flat,
                       (i * out.shape[1] + oy) * out_row)


def _integer_body(x, w, offsets, padding, vectors, lo, hi, filters32, conv_h, conv_w,
                  negative, valid, pool, largest, out):  # type: ignore[no-untyped-def]
    # x (n, H, W, C) int16; w flat (k k C * F16 / 16) uint16 sign words, rows (ky, kx,
    # channel); vectors: 16-filter vectors per tile (1-3); lo, hi flat (F32) int16;
    # negative, valid as in _binary_body.
    # Returns False, at the first image with an input beyond +-largest (its sums could
    # leave int16), True when every image is done.
    n, h, width, c = x.shape
    words16 = w.size // offsets.size
    words = out.shape[3]
    wide = width + 2 * padding + INTEGER_TILE_PIXELS
    buffer = np.zeros((h + 2 * padding) * wide * c, np.int16)
    row_pixels = conv_w + INTEGER_TILE_PIXELS
    half = 2 * row_pixels * words  # one output row's bits; two halves, used in turn
    bits = np.zeros(2 * half, np.uint64)
    bit_bytes = bits.view(np.uint8)
    tables = np.zeros(row_pixels, np.int64)  # one class: every pixel's bounds at 0
    flat = x.reshape(n, -1)
    out_flat = out.reshape(-1)
    step = 2 if pool else 1
    out_row = out.shape[2] * words
    for i in range(n):
        for q in range(flat.shape[1]):
            if abs(np.int32(flat[i, q])) > largest:
                return False
        _copy_bordered(buffer, flat, i, h, width, c, padding, wide)
        for oy in range(out.shape[1]):
            first = (oy & 1) * half
            for r in range(step):
                base = (oy * step + r) * wide * c
                for x0 in range(0, conv_w, INTEGER_TILE_PIXELS):
                    at = base + x0 * c
                    for b in range(0, words16, vectors):
                        start = 8 * first + (r * row_pixels + x0) * 8 * words + 2 * b
                        if vectors == 3:
                            _masked_tile_3(bit_bytes, start, 8 * words, buffer, at, c, offsets,
                                           w, b, words16, offsets.size, lo, hi, tables, x0)
                        elif vectors == 2:
                            _masked_tile_2(bit_bytes, start, 8 * words, buffer, at, c, offsets,
                                           w, b, words16, offsets.size, lo, hi, tables, x0)
                        else:
                            _masked_tile_1(bit_bytes, start, 8 * words, buffer, at, c, offsets,
                                           w, b, words16, offsets.size, lo, hi, tables, x0)
            if oy > 0:  # the row before: its bits are out of the store buffer by now
                _store_row(bits, half - first, row_pixels, out.shape[2], negative, valid,
                           pool, out_flat, (i * out.shape[1] + oy - 1) * out_row)
        last = out.shape[1] - 1
        _store_row(bits, (last & 1) * half, row_pixels, out.shape[2], negative, valid, pool,
                   out_flat, (i * out.shape[1] + last) * out_row)
    return True


_binary_kernel = njit(cache=True, nogil=True)(_binary_body)
_integer_kernel = njit(cache=True, nogil=True)(_integer_body)


def _bounds(lo: np.ndarray, hi: np.ndarray, n_out: int, dtype: type[np.signedinteger]
            ) -> tuple[np.ndarray, np.ndarray]:
    """(classes, out) bounds -> flat (classes * F32) arrays, columns padded to F32 (at
    least the filters a tile covers) with an empty range (lo 0 > hi -1)."""
    filters32 = _round_up(n_out, _CHUNK)
    lo_table: np.ndarray = np.zeros((len(lo), filters32), dtype)
    hi_table: np.ndarray = np.full((len(hi), filters32), -1, dtype)
    lo_table[:, :n_out] = lo
    hi_table[:, :n_out] = hi
    return lo_table.reshape(-1), hi_table.reshape(-1)


def _out_words(n: int, conv_h: int, conv_w: int, n_out: int, pool: bool) -> np.ndarray:
    if pool and (conv_h % 2 or conv_w % 2):
        raise ValueError(f"cannot 2x2-pool a {(conv_h, conv_w)} map")
    step = 2 if pool else 1
    return np.empty((n, conv_h // step, conv_w // step, n_words(n_out)), np.uint64)


def _mask_words(negative: np.ndarray, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """(n_words(out),) uint64: the outputs whose scale is negative, and every output."""
    return pack_bits(np.asarray(negative) != 0), pack_bits(np.ones(n_out, np.uint8))


def binary_conv_words(x: np.ndarray, w: np.ndarray, channels: int, threshold: np.ndarray,
                      direction: np.ndarray, *, pool: bool, padding: int) -> np.ndarray:
    """A binary k x k conv layer (stride 1) with folded threshold and 2x2 pooling, on
    packed maps.

    Args:
        x: (N, H, W, n_words(C)) uint64 input bits, padding bits 0.
        w: (out, k, k, n_words(C)) uint64 filters packed per offset.
        channels: C.
        threshold, direction: (out,) folded BatchNorm (`Threshold`).
        pool: 2x2 max-pool the bits.
        padding: zeros on each side, 0 <= padding <= k // 2.
    Returns:
        (N, H'', W'', n_words(out)) uint64 output bits (pooled where ``pool``), padding
        bits 0: the bits of `mrambnn.engine.kernels.conv_bits`, packed.
    """
    x = np.ascontiguousarray(x, dtype=np.uint64)
    w = np.asarray(w, dtype=np.uint64)
    n_out, k = w.shape[0], w.shape[1]
    n, h, width, nw = x.shape
    row_cls, row_inside = border_classes(h, k, padding)
    col_cls, col_inside = border_classes(width, k, padding)
    out = _out_words(n, row_cls.size, col_cls.size, n_out, pool)
    filters16 = _round_up(n_out, _WORD_FILTERS)
    operand = np.zeros((k * k * nw, filters16), np.uint64)
    operand[:, :n_out] = w.reshape(n_out, -1).T
    # ones of each filter offset: what a zero (padded) neighbour adds to the disagreements
    ones = np.bitwise_count(w).sum(axis=3, dtype=np.int64)  # (out, k, k)
    inside = row_inside[:, None, :, None] & col_inside[None, :, None, :]  # (ry, rx, ky, kx)
    border = np.einsum("abij,oij->abo", (~inside).astype(np.int64), ones)
    valid_offsets = inside.sum(axis=(2, 3))  # (ry, rx)
    lo, hi, _, _, negative = pixel_tables(
        threshold, direction, counts=channels * np.arange(k * k + 1), scale=-2,
        reach=channels * k * k, limit=0, dtype=np.int64)
    lo_flat, hi_flat = _bounds((lo[valid_offsets] + border).reshape(-1, n_out),
                               (hi[valid_offsets] + border).reshape(-1, n_out), n_out,
                               np.int32)
    negative_words, valid = _mask_words(negative, n_out)
    wide = width + 2 * padding + TILE_PIXELS
    offsets = np.array([(ky * wide + kx) * nw + d for ky in range(k) for kx in range(k)
                        for d in range(nw)], np.int64)
    in_blocks(lambda start, end: _binary_kernel(
        x[start:end], operand.reshape(-1), offsets, padding, lo_flat, hi_flat,
        _round_up(n_out, _CHUNK), row_cls, col_cls, col_inside.shape[0], negative_words,
        valid, pool, out[start:end]), n, min_block=IMAGES_PER_BLOCK)
    return out


@njit(cache=True, nogil=True)
def _largest_magnitude(flat):  # type: ignore[no-untyped-def]
    largest = 0
    for v in flat:
        largest = max(largest, abs(np.int64(v)))
    return largest


def fits_signed_tile(x: np.ndarray, k: int) -> bool:
    """Whether `integer_conv_words` takes first-layer maps ``x`` (N, H, W, C) with k x k
    filters: integers whose every partial sum, and the bounds around it, fit int16."""
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.integer):
        return False
    terms = k * k * x.shape[3]
    if x.dtype.itemsize == 1 and 255 * terms <= _INT16_REACH - 1:  # (u)int8: no scan
        return True
    largest = int(_largest_magnitude(np.ascontiguousarray(x).reshape(-1)))
    return largest * terms <= _INT16_REACH - 1


def integer_conv_words(x: np.ndarray, w: np.ndarray, threshold: np.ndarray,
                       direction: np.ndarray, *, pool: bool, padding: int) -> np.ndarray:
    """A first (integer-input) k x k conv layer with folded threshold and pooling.

    Args:
        x: (N, H, W, C) integer maps, within `fits_signed_tile` (int16 maps are checked
            as the kernel reads them, others before).
        w: (out, k, k, C) +-1 filters.
        threshold, direction, pool, padding: as `binary_conv_words`.
    Returns:
        (N, H'', W'', n_words(out)) uint64 output bits, as `binary_conv_words`.
    Raises:
        SumsTooWide: inputs too large for 16-bit sums.
    """
    n_out, k, _, c = np.shape(w)
    too_large = SumsTooWide("first-layer inputs too large for 16-bit sums")
    if np.asarray(x).dtype != np.int16 and not fits_signed_tile(x, k):
        raise too_large
    x = np.ascontiguousarray(x, dtype=np.int16)
    n, h, width, _ = x.shape
    conv_h, conv_w = h + 2 * padding - k + 1, width + 2 * padding - k + 1
    out = _out_words(n, conv_h, conv_w, n_out, pool)
    vectors = min((3, 2, 1), key=lambda v: (_round_up(n_out, MASKED_LANES * v), -v))
    filters16 = _round_up(n_out, MASKED_LANES * vectors)
    signs = np.zeros((k * k * c, filters16), bool)
    signs[:, :n_out] = np.asarray(w).reshape(n_out, -1).T > 0
    lanes = np.uint64(1) << np.arange(MASKED_LANES, dtype=np.uint64)
    sign_words = (signs.reshape(k * k * c, -1, MASKED_LANES) * lanes).sum(
        axis=2).astype(np.uint16)
    reach = int(_INT16_REACH - 1)
    lo, hi, _, _, negative = pixel_tables(threshold, direction, counts=[0], scale=1,
                                          reach=reach, limit=0, dtype=np.int64)
    lo_flat, hi_flat = _bounds(lo, hi, n_out, np.int16)
    negative_words, valid = _mask_words(negative, n_out)
    wide = width + 2 * padding + INTEGER_TILE_PIXELS
    offsets = np.array([(ky * wide + kx) * c + d for ky in range(k) for kx in range(k)
                        for d in range(c)], np.int64)
    largest = (_INT16_REACH - 1) // (k * k * c)
    done = in_blocks(lambda start, end: _integer_kernel(
        x[start:end], sign_words.reshape(-1), offsets, padding, vectors, lo_flat, hi_flat,
        _round_up(n_out, _CHUNK), conv_h, conv_w, negative_words, valid, pool, largest,
        out[start:end]), n, min_block=IMAGES_PER_BLOCK)
    if not all(done):
        raise too_large
    return out
