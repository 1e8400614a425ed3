"""Compiled XNOR-popcount kernels (numba): dense layers and zero-padded convolutions.

Each kernel is compiled serial and without the GIL; `mrambnn.engine.threads.in_blocks`
runs it on blocks of images in `kernel_threads` threads (one per core; worker processes
forked by a sweep use one). Integer sums are exact, so the result does not depend on the
number of threads. The operands are prepared by `mrambnn.engine.conv_operands`.
"""

import numpy as np
from numba import njit

from mrambnn.engine.conv_operands import binary_operand, integer_operands, pixel_tables
from mrambnn.engine.primitives import popcount
from mrambnn.engine.threads import IMAGES_PER_BLOCK, in_blocks

__all__ = ["conv_bits", "conv_margins", "dense_popcount"]


def _dense_body(x, w_t, n_bits, out):  # type: ignore[no-untyped-def]
    # w_t: (n_words, out), so that the innermost loop runs over contiguous outputs. Four
    # images per pass over the weights: each weight word loaded once serves four, which
    # quarters the traffic from the cache the two cores share (one image per pass scaled
    # 1.0-1.2x on two threads, four 1.6x).
    n, n_words = x.shape
    n_out = w_t.shape[1]  # out: (n, n_out) int32
    disagree = np.zeros((4, n_out), np.int32)
    d0, d1, d2, d3 = disagree[0], disagree[1], disagree[2], disagree[3]
    zero = np.uint64(0)
    for i0 in range(0, n, 4):
        rows = min(4, n - i0)
        disagree[:] = 0
        for k in range(n_words):
            x0 = x[i0, k]
            x1 = x[i0 + 1, k] if rows > 1 else zero
            x2 = x[i0 + 2, k] if rows > 2 else zero
            x3 = x[i0 + 3, k] if rows > 3 else zero
            w_row = w_t[k]
            for j in range(n_out):
                w = w_row[j]
                d0[j] += np.int32(popcount(x0 ^ w))
                d1[j] += np.int32(popcount(x1 ^ w))
                d2[j] += np.int32(popcount(x2 ^ w))
                d3[j] += np.int32(popcount(x3 ^ w))
        for r in range(rows):
            out_row, counts = out[i0 + r], disagree[r]
            for j in range(n_out):
                out_row[j] = n_bits - 2 * counts[j]


@njit(inline="always", cache=True)
def _binary_sums(acc, x, i, y, xx, w, k, patch, rows):  # type: ignore[no-untyped-def]
    """acc[o] = disagreeing bits of output pixel (y, xx) of image i; returns the number
    of offsets inside the map (zero padding: the others add nothing).

    w: (k * k * n_words, out) for a k x k kernel; patch, rows: scratch of that length.
    The patch's words are gathered first, then summed four at a time, so that each pass
    over the accumulators adds four popcounts (loaded and stored once, not four times).
    """
    h, width, n_words = x.shape[1], x.shape[2], x.shape[3]
    r = k // 2
    t = 0
    valid = 0
    for ky in range(max(0, r - y), min(k, h + r - y)):
        for kx in range(max(0, r - xx), min(k, width + r - xx)):
            valid += 1
            for d in range(n_words):
                patch[t] = x[i, y + ky - r, xx + kx - r, d]
                rows[t] = (ky * k + kx) * n_words + d
                t += 1
    for o in range(acc.size):
        acc[o] = 0
    g = 0
    while g + 4 <= t:
        x0, x1, x2, x3 = patch[g], patch[g + 1], patch[g + 2], patch[g + 3]
        # slices indexed by the loop variable alone: vectorised over o
        w0, w1, w2, w3 = w[rows[g]], w[rows[g + 1]], w[rows[g + 2]], w[rows[g + 3]]
        for o in range(acc.size):
            acc[o] += np.int32(popcount(x0 ^ w0[o]) + popcount(x1 ^ w1[o])
                               + popcount(x2 ^ w2[o]) + popcount(x3 ^ w3[o]))
        g += 4
    for rest in range(g, t):
        x0, w0 = patch[rest], w[rows[rest]]
        for o in range(acc.size):
            acc[o] += np.int32(popcount(x0 ^ w0[o]))
    return valid


@njit(inline="always", cache=True)
def _store_pixel(margins, i, start, pooled, acc, lo, hi, base, v, unit, negative, limit
                 ):  # type: ignore[no-untyped-def]
    """One pixel's bits ``lo[v] <= acc <= hi[v]`` (`pixel_tables`), XOR-ed with ``negative``
    and OR-ed into ``pooled`` (uint8: pooling of complemented bits is then an AND), and,
    unless ``margins`` has no columns (`conv_bits`), the margins ``base + unit * acc``
    (``base[v]``) clipped to +-limit into ``margins[i, start:start + out]``.

    Plain loops over contiguous arrays of one integer width, uint8 flags, closed slices
    and no views of the tables (each view costs reference counting): LLVM vectorises
    them (int64 arithmetic here made the store 3x slower)."""
    for o in range(acc.size):
        pooled[o] |= np.uint8((acc[o] >= lo[v, o]) & (acc[o] <= hi[v, o])) ^ negative[o]
    if margins.shape[1] > 0:  # after the bits: before them, it kept that loop scalar
        dest = margins[i, start:start + acc.size]
        for o in range(acc.size):
            m = np.int32(base[v, o] + unit[o] * np.int32(acc[o]))
            dest[o] = min(max(m, np.int32(-limit)), np.int32(limit))


@njit(inline="always", cache=True)
def _store_pooled(out_rows, index, pooled, negative):  # type: ignore[no-untyped-def]
    """Output pixel ``index`` of the flat (pixels, out) output: the pooled bits."""
    dest = out_rows[index]
    for o in range(pooled.size):
        dest[o] = (pooled[o] ^ negative[o]) != 0
        pooled[o] = 0


def _conv_body(x, w, k, shift, lo, hi, base, unit, negative, pool, margins, offset, limit,
               out):  # type: ignore[no-untyped-def]
    # x: (N, H, W, n_words) uint64 packed bits; w: (k * k * n_words, out) uint64, patch
    # order (ky, kx, word), outputs contiguous; lo, hi, base (k * k + 1, out) and unit
    # (out,): `pixel_tables` of the disagreeing-bit count, by the number of offsets
    # inside the map. Output bits, pooled; where margins has columns, each pixel's
    # clipped margins too, at margins[i, offset:].
    # Pooling, branch-free: OR of the bits, or where direction < 0 their AND, which is
    # the complement of the OR of the complements. shift = k // 2 - padding: output pixel
    # (y, x) is centred on input pixel (y + shift, x + shift).
    n, h, width, _ = x.shape
    n_out = w.shape[1]
    step = 2 if pool else 1
    conv_h, conv_w = h - 2 * shift, width - 2 * shift
    out_h, out_w = conv_h // step, conv_w // step
    out_rows = out.reshape((n * out_h * out_w, n_out))  # out: (n, out_h, out_w, out) bool
    for i in range(n):
        acc = np.zeros(n_out, np.int32)
        pooled = np.zeros(n_out, np.uint8)
        patch = np.zeros(w.shape[0], np.uint64)
        rows = np.zeros(w.shape[0], np.int64)
        for py in range(out_h):
            for px in range(out_w):
                for sy in range(step):
                    for sx in range(step):
                        y, xx = py * step + sy, px * step + sx
                        v = _binary_sums(acc, x, i, y + shift, xx + shift, w, k, patch, rows)
                        _store_pixel(margins, i, offset + (y * conv_w + xx) * n_out, pooled,
                                     acc, lo, hi, base, v, unit, negative, limit)
                _store_pooled(out_rows, (i * out_h + py) * out_w + px, pooled, negative)


@njit(inline="always", cache=True)
def _integer_sums(acc, xp, i, y, xx, w, k):  # type: ignore[no-untyped-def]
    """acc[o] = exact sum of output pixel (y, xx) of image i; xp: the zero-padded maps,
    each row's (W + k - 1, C) values flat.

    For each filter row, the k * C inputs it covers are contiguous in ``xp``: they are
    multiplied four at a time into the accumulators (loaded and stored once per four)."""
    span = w.shape[1]  # k * C
    for o in range(acc.size):
        acc[o] = 0
    for ky in range(k):
        inputs = xp[i, y + ky, xx * (span // k):xx * (span // k) + span]
        wk = w[ky]
        t = 0
        while t + 4 <= span:
            v0, v1, v2, v3 = inputs[t], inputs[t + 1], inputs[t + 2], inputs[t + 3]
            w0, w1, w2, w3 = wk[t], wk[t + 1], wk[t + 2], wk[t + 3]
            for o in range(acc.size):
                acc[o] += v0 * w0[o] + v1 * w1[o] + v2 * w2[o] + v3 * w3[o]
            t += 4
        for rest in range(t, span):
            v0, w0 = inputs[rest], wk[rest]
            for o in range(acc.size):
                acc[o] += v0 * w0[o]


def _conv_integer_body(xp, w, k, shift, lo, hi, base, unit, negative, pool, margins, offset,
                       limit, out):  # type: ignore[no-untyped-def]
    # xp: (N, H + k - 1, (W + k - 1) * C) zero-padded int16 or int32 maps; w: (k, k * C,
    # out) +-1 of the same type (`integer_operands` checks no partial sum can overflow
    # it). Bits, pooling and margins as in _conv_body.
    n = xp.shape[0]
    n_out = w.shape[2]
    h, width = xp.shape[1] - (k - 1), xp.shape[2] // (w.shape[1] // k) - (k - 1)
    step = 2 if pool else 1
    conv_h, conv_w = h - 2 * shift, width - 2 * shift
    out_h, out_w = conv_h // step, conv_w // step
    out_rows = out.reshape((n * out_h * out_w, n_out))  # out: (n, out_h, out_w, out) bool
    for i in range(n):
        acc = np.zeros(n_out, xp.dtype)
        pooled = np.zeros(n_out, np.uint8)
        for py in range(out_h):
            for px in range(out_w):
                for sy in range(step):
                    for sx in range(step):
                        y, xx = py * step + sy, px * step + sx
                        _integer_sums(acc, xp, i, y + shift, xx + shift, w, k)
                        _store_pixel(margins, i, offset + (y * conv_w + xx) * n_out, pooled,
                                     acc, lo, hi, base, 0, unit, negative, limit)
                _store_pooled(out_rows, (i * out_h + py) * out_w + px, pooled, negative)


_conv_integer = njit(cache=True, nogil=True)(_conv_integer_body)
_dense = njit(cache=True, nogil=True)(_dense_body)
_conv = njit(cache=True, nogil=True)(_conv_body)


def dense_popcount(x_words: np.ndarray, w_words: np.ndarray, n_bits: int) -> np.ndarray:
    """``n_bits - 2 popcount(x XOR w)`` for every (row of x, row of w).

    Args:
        x_words: (N, n_words) uint64 packed +-1 inputs.
        w_words: (out, n_words) uint64 packed +-1 weights (same padding: zeros).
    Returns:
        (N, out) int32 pre-activations.
    """
    x = np.ascontiguousarray(x_words, dtype=np.uint64)
    w_t = np.ascontiguousarray(np.asarray(w_words, dtype=np.uint64).T)
    out = np.empty((len(x), w_t.shape[1]), np.int32)
    in_blocks(lambda start, end: _dense(x[start:end], w_t, n_bits, out[start:end]),
              len(x), min_block=IMAGES_PER_BLOCK)
    return out


def conv_bits(x: np.ndarray, w: np.ndarray, channels: int, threshold: np.ndarray,
              direction: np.ndarray, *, pool: bool, integer: bool,
              padding: int | None = None) -> np.ndarray:
    """A whole k x k conv layer (stride 1): pre-activation, folded threshold, 2x2 pooling.

    Args:
        x: binary layer: (N, H, W, n_words) uint64, each pixel's channels packed;
            integer layer: (N, H, W, C) integer maps.
        w: binary: (out, k, k, n_words) uint64 per-offset packed channels;
            integer: (out, k, k, C) +-1 values.
        channels: C (binary layers: the valid bits per pixel).
        threshold, direction: (out,) folded BatchNorm (`Threshold`).
        pool: 2x2 max-pool the bits (OR where direction > 0, AND where < 0).
        padding: zero padding p on each side, 0 <= p <= k // 2 (default k // 2, 'same');
            the map before pooling is (H + 2p - k + 1, W + 2p - k + 1).
    Returns:
        (N, H', W', out) bool output bits; padded neighbours contribute exactly 0.
    """
    return conv_margins(x, w, channels, threshold, direction, integer=integer, pool=pool,
                        margins=np.zeros((len(x), 0), np.int16), offset=0, limit=0,
                        padding=padding)


def conv_margins(x: np.ndarray, w: np.ndarray, channels: int, threshold: np.ndarray,
                 direction: np.ndarray, *, integer: bool, pool: bool, margins: np.ndarray,
                 offset: int, limit: int, padding: int | None = None) -> np.ndarray:
    """`conv_bits`, also writing every pixel's margin ``direction * a - threshold``.

    Args:
        margins: (N, M) int16, receives image i's margins before pooling, laid out
            (H', W', out) before pooling, at ``margins[i, offset:offset + H'*W'*out]``,
            each clipped to
            +-``limit`` (the sign, hence the bit, is kept); M = 0: bits only.
        the others: as `conv_bits`.
    Returns:
        (N, H', W', out) bool output bits (pooled where ``pool``).
    """
    if integer:
        padded, weights, k, reach = integer_operands(x, w)
        if margins.shape[1] > 0 and limit + 4 * reach >= 2**31 - 1:
            raise ValueError("first-layer inputs too large for int32 margins")
        tables = pixel_tables(threshold, direction, counts=[0], scale=1, reach=reach,
                               limit=limit, dtype=padded.dtype)
        kernel, operand = _conv_integer, weights
    else:
        padded = np.ascontiguousarray(x, dtype=np.uint64)
        k = np.shape(w)[1]
        # with v of the k * k offsets inside the map, a = channels * v - 2 * acc
        tables = pixel_tables(threshold, direction, counts=channels * np.arange(k * k + 1),
                               scale=-2, reach=channels * k * k, limit=limit, dtype=np.int32)
        kernel, operand = _conv, binary_operand(w)
    shift = k // 2 - (k // 2 if padding is None else padding)
    if not 0 <= shift <= k // 2:
        raise ValueError(f"padding must be in 0..{k // 2} for a {k} x {k} filter")
    step = 2 if pool else 1
    n, height, width = len(padded), np.shape(x)[1] - 2 * shift, np.shape(x)[2] - 2 * shift
    if height < 1 or width < 1:
        raise ValueError(f"a {k} x {k} filter with padding {padding} does not fit the "
                         f"{np.shape(x)[1]} x {np.shape(x)[2]} map")
    out = np.empty((n, height // step, width // step, np.shape(w)[0]), np.bool_)
    in_blocks(lambda start, end: kernel(  # type: ignore[call-arg]
        padded[start:end], operand, k, shift, *tables, pool, margins[start:end], offset,
        limit, out[start:end]), n, min_block=IMAGES_PER_BLOCK)
    return out
