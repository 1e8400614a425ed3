"""The compiled kernel of `mrambnn.montecarlo.conv_draws`: many fault draws, image by image.

Every layer is seen as a k x k convolution with zero padding p of an H x W map into an
H' x W' one, H' = H + 2p - k + 1 (a dense layer is the 1 x 1 case with C = its inputs),
with margins ``m = direction * a - threshold`` (the output layer: its pre-activations)
laid out (H', W', out). For one image the clean margins
are given; for each draw the kernel walks the layers and touches only what changes:

1. each input that toggled (new value v, so ``x' - x = 2 v``) adds ``2 v`` times a column
   of ``direction * w`` to the k x k output pixels it feeds, all channels at once;
2. each output channel with flipped weights is scanned pixel by pixel: where the margin
   (with the changes of step 1) is within ``2 * flips * max|x|`` of zero, the flips'
   exact effect ``-2 direction w x'`` is added, with the draw's inputs x';
3. the pixels touched in step 1 are compared with the clean bits (other channels);
4. a changed bit of a pooled layer recomputes its 2 x 2 window (OR, or AND where the
   direction is negative): the windows whose bit changed are the next layer's toggles.

``a' - a = W (x' - x) + (W' - W) x'`` holds exactly in integers, so the predictions equal
a full re-evaluation. After a draw every change is undone, ready for the next one.

Arguments come in groups (`NetArrays`, `DrawArrays`), described there and taken apart
once per call. The steps stay in one loop nest rather than in helper functions: numba
updates the reference count of every array handed to an inlined helper at each call, and
with calls per layer, image and draw that made the kernel 15-25 % slower at low BER
(measured).
"""

from typing import NamedTuple

import numpy as np
from numba import njit

from mrambnn.engine.primitives import best_class

__all__ = ["DrawArrays", "NetArrays", "draws_kernel"]


class NetArrays(NamedTuple):
    """The network, every layer seen as a convolution.

    dims: (L, 9) H, W, C, out, k, pool, padding, H', W' per layer; wt: int8
    ``direction * w`` laid out (ky, C, kx reversed, out) per layer from ``wt_off``;
    pre_off, map_off: each layer's segment of the margins and of the output maps;
    negative: (direction < 0) per output from ``neg_off``; scale, offset: the output
    layer's `Affine` head; max_pre, max_pixels, max_out: the largest H'*W'*out, H*W or
    H'*W', and out over the layers; prune: False recomputes every pixel of a channel with
    flipped weights, within reach of its threshold or not (for checking).
    """

    dims: np.ndarray
    wt: np.ndarray
    wt_off: np.ndarray
    pre_off: np.ndarray
    map_off: np.ndarray
    negative: np.ndarray
    neg_off: np.ndarray
    scale: np.ndarray
    offset: np.ndarray
    max_pre: int
    max_pixels: int
    max_out: int
    prune: bool


class DrawArrays(NamedTuple):
    """D draws' flipped weights: flip_ptr (D * L + 1,) CSR over (draw, layer) segments,
    each flip's output in flip_out and its (ky, kx, c) in flip_patch (3, F), sorted by
    output."""

    flip_ptr: np.ndarray
    flip_out: np.ndarray
    flip_patch: np.ndarray


@njit(inline="always", cache=True)
def _input(li, idx, x0_row, cur_out, map_off):  # type: ignore[no-untyped-def]
    """Current value of input ``idx`` of layer ``li``: pixels for layer 0, else +-1."""
    if li == 0:
        return np.int16(x0_row[idx])
    return np.int16(cur_out[map_off[li - 1] + idx])


@njit(inline="always", cache=True)
def _init_image(margin_row, dims, pre_off, map_off, negative, neg_off, cur_pre, cur_out
                ):  # type: ignore[no-untyped-def]
    """Clean output maps of every layer from its margins (pooled where it pools)."""
    n_layers = dims.shape[0]
    for li in range(n_layers - 1):
        h, w, o_n, pool = dims[li, 7], dims[li, 8], dims[li, 3], dims[li, 5]
        m = margin_row[pre_off[li]:pre_off[li] + h * w * o_n]
        if not pool:
            out = cur_out[map_off[li]:map_off[li] + h * w * o_n]
            for i in range(m.size):
                out[i] = 1 if m[i] >= 0 else -1
            continue
        pre = cur_pre[pre_off[li]:pre_off[li] + h * w * o_n]
        for i in range(m.size):
            pre[i] = 1 if m[i] >= 0 else -1
        for py in range(h // 2):
            for px in range(w // 2):
                for o in range(o_n):
                    out_idx = map_off[li] + (py * (w // 2) + px) * o_n + o
                    cur_out[out_idx] = _pooled(pre, py, px, o, w, o_n,
                                               negative[neg_off[li] + o])


@njit(inline="always", cache=True)
def _pooled(pre, py, px, o, w, o_n, negative):  # type: ignore[no-untyped-def]
    """+-1 max-pool of the 2 x 2 window (py, px) of channel o (AND where negative)."""
    any_set, all_set = False, True
    for sy in range(2):
        for sx in range(2):
            bit = pre[((2 * py + sy) * w + 2 * px + sx) * o_n + o] > 0
            any_set |= bit
            all_set &= bit
    return np.int8(1 if (all_set if negative else any_set) else -1)


@njit(inline="always", cache=True)
def _push(lists, counts, base, li, y, x, c):  # type: ignore[no-untyped-def]
    """Append (y, x, c) to layer li's list, which starts at ``base`` in ``lists`` (3, M)."""
    k = base + counts[li]
    lists[0, k] = y
    lists[1, k] = x
    lists[2, k] = c
    counts[li] += 1


@njit(inline="always", cache=True)
def _record(li, y, x, o, o_n, w, pool, cur_pre, cur_out, pre_off, map_off, changes, toggles,
            n_changes, n_toggles):  # type: ignore[no-untyped-def]
    """Flip output (y, x, o) of layer li: in the pre-pool map and change list of a pooled
    layer, else in the output map and the toggle list (the next layer's input)."""
    idx = (y * w + x) * o_n + o
    if pool:
        cur_pre[pre_off[li] + idx] *= -1
        _push(changes, n_changes, pre_off[li], li, y, x, o)
    else:
        cur_out[map_off[li] + idx] *= -1
        _push(toggles, n_toggles, map_off[li], li, y, x, o)



def _draws_body(net, flips, margins, x0, absmax0):  # type: ignore[no-untyped-def]
    """Predictions (D, N) of D draws on N images: margins (N, sum of H*W*out) int16
    clean margins, x0 (N, H*W*C) int16 first-layer inputs, absmax0 (N,) their largest
    |x|."""
    (dims, wt, wt_off, pre_off, map_off, negative, neg_off, scale, offset, max_pre,
     max_pixels, max_out, prune) = net
    flip_ptr, flip_out, flip_patch = flips
    n_images = margins.shape[0]
    n_layers = dims.shape[0]
    n_draws = (flip_ptr.size - 1) // n_layers
    n_classes = dims[n_layers - 1, 3]
    predictions = np.empty((n_draws, n_images), np.int64)
    cur_out = np.empty(map_off[-1], np.int8)
    cur_pre = np.zeros(pre_off[-1], np.int8)
    delta = np.zeros(max_pre, np.int16)
    touched = np.zeros(max_pixels, np.bool_)
    touched_list = np.empty(max_pixels, np.int64)
    toggles = np.empty((3, map_off[-1]), np.int32)  # (y, x, c) per layer from map_off
    n_toggles = np.zeros(n_layers, np.int64)
    changes = np.empty((3, pre_off[-1]), np.int32)  # pooled layers, from pre_off
    n_changes = np.zeros(n_layers, np.int64)
    flags = np.zeros(max_out, np.uint8)
    in_flipped = np.zeros(max_out, np.uint8)
    scores = np.empty(n_classes, np.int64)
    for n in range(n_images):
        row = margins[n]
        x0_row = x0[n]
        _init_image(row, dims, pre_off, map_off, negative, neg_off, cur_pre, cur_out)
        for d in range(n_draws):
            for li in range(n_layers):
                h, w, c, o_n, k, pool = (dims[li, 0], dims[li, 1], dims[li, 2], dims[li, 3],
                                         dims[li, 4], dims[li, 5])
                r, ho, wo = dims[li, 6], dims[li, 7], dims[li, 8]  # padding, output map
                last = li == n_layers - 1
                m = row[pre_off[li]:pre_off[li] + ho * wo * o_n]
                seg = d * n_layers + li
                f_begin, f_end = flip_ptr[seg], flip_ptr[seg + 1]
                n_in = n_toggles[li - 1] if li > 0 else 0
                n_toggles[li] = 0
                n_changes[li] = 0
                if last:
                    for o in range(o_n):
                        scores[o] = m[o]
                if n_in == 0 and f_begin == f_end:
                    continue
                # 1. toggled inputs: column adds into the pixels they feed
                n_touched = 0
                t_base = map_off[li - 1] if li > 0 else 0
                # a dense layer after a conv one reads its output map flattened
                flat = li > 0 and h == 1 and w == 1 and dims[li - 1, 0] > 1
                below_w = dims[li - 1, 8] // (2 if dims[li - 1, 5] else 1) if li > 0 else 1
                below_c = dims[li - 1, 3] if li > 0 else 1
                for t in range(n_in):
                    y, xx, ch = (toggles[0, t_base + t], toggles[1, t_base + t],
                                 toggles[2, t_base + t])
                    if flat:
                        ch, y, xx = (y * below_w + xx) * below_c + ch, 0, 0
                    step = np.int16(2 * _input(li, (y * w + xx) * c + ch, x0_row, cur_out,
                                               map_off))
                    # the output pixels of one kernel row are adjacent, and so are
                    # their weight columns (kx reversed): one long loop per row
                    kx_lo, kx_hi = max(0, xx + r - wo + 1), min(k, xx + r + 1)
                    if kx_lo >= kx_hi:
                        continue
                    qx_first = xx + r - (kx_hi - 1)
                    span = (kx_hi - kx_lo) * o_n
                    for ky in range(max(0, y + r - ho + 1), min(k, y + r + 1)):
                        qy = y - ky + r
                        base = wt_off[li] + ((ky * c + ch) * k + k - kx_hi) * o_n
                        column = wt[base:base + span]
                        start = (qy * wo + qx_first) * o_n
                        dq = delta[start:start + span]
                        for o in range(span):
                            dq[o] += np.int16(step * column[o])
                        for q in range(qy * wo + qx_first, qy * wo + qx_first + kx_hi - kx_lo):
                            if not touched[q]:
                                touched[q] = True
                                touched_list[n_touched] = q
                                n_touched += 1
                # 2. channels with flipped weights, every pixel
                bound_unit = 2 * (absmax0[n] if li == 0 else 1)
                f = f_begin
                while f < f_end:
                    o = flip_out[f]
                    g = f
                    while g < f_end and flip_out[g] == o:
                        g += 1
                    in_flipped[o] = 1
                    bound = bound_unit * (g - f)
                    for qy in range(ho):
                        for qx in range(wo):
                            q = qy * wo + qx
                            v = np.int64(m[q * o_n + o]) + delta[q * o_n + o]
                            if last or not prune or abs(v) <= bound:
                                for e in range(f, g):
                                    ky, kx = flip_patch[0, e], flip_patch[1, e]
                                    iy, ix = qy + ky - r, qx + kx - r
                                    if 0 <= iy < h and 0 <= ix < w:
                                        t = (ky * c + flip_patch[2, e]) * k + k - 1 - kx
                                        v -= 2 * wt[wt_off[li] + t * o_n + o] * _input(
                                            li, (iy * w + ix) * c + flip_patch[2, e],
                                            x0_row, cur_out, map_off)
                            if last:
                                scores[o] = v
                            elif (v >= 0) != (m[q * o_n + o] >= 0):
                                _record(li, qy, qx, o, o_n, wo, pool, cur_pre, cur_out,
                                        pre_off, map_off, changes, toggles, n_changes,
                                        n_toggles)
                    f = g
                # 3. touched pixels, channels without flips; delta back to zero
                for s in range(n_touched):
                    q = touched_list[s]
                    touched[q] = False
                    mq = m[q * o_n:q * o_n + o_n]
                    dq = delta[q * o_n:q * o_n + o_n]
                    if last:
                        for o in range(o_n):
                            if not in_flipped[o]:
                                scores[o] = np.int64(mq[o]) + dq[o]
                    else:
                        any_flag = 0
                        for o in range(o_n):
                            moved = np.int16(mq[o] + dq[o])
                            flag = np.uint8((moved >= 0) != (mq[o] >= 0)) & ~in_flipped[o]
                            flags[o] = flag
                            any_flag |= flag
                        if any_flag & 1:
                            for o in range(o_n):
                                if flags[o] & 1:
                                    _record(li, q // wo, q % wo, o, o_n, wo, pool, cur_pre,
                                            cur_out, pre_off, map_off, changes, toggles,
                                            n_changes, n_toggles)
                    for o in range(o_n):
                        dq[o] = 0
                for e in range(f_begin, f_end):
                    in_flipped[flip_out[e]] = 0
                # 4. pooled windows whose bit changed
                if pool:
                    half = wo // 2
                    pre = cur_pre[pre_off[li]:pre_off[li] + ho * wo * o_n]
                    for e in range(n_changes[li]):
                        py = changes[0, pre_off[li] + e] // 2
                        px = changes[1, pre_off[li] + e] // 2
                        o = changes[2, pre_off[li] + e]
                        value = _pooled(pre, py, px, o, wo, o_n, negative[neg_off[li] + o])
                        out_idx = map_off[li] + (py * half + px) * o_n + o
                        if cur_out[out_idx] != value:
                            cur_out[out_idx] = value
                            _push(toggles, n_toggles, map_off[li], li, py, px, o)
            predictions[d, n] = best_class(scores, scale, offset, n_classes)
            # undo the draw: every map back to the clean image
            for li in range(n_layers - 1):
                w, o_n, pool = dims[li, 8], dims[li, 3], dims[li, 5]
                out_w = w // 2 if pool else w
                for e in range(n_toggles[li]):
                    b = map_off[li] + e
                    idx = (toggles[0, b] * out_w + toggles[1, b]) * o_n + toggles[2, b]
                    cur_out[map_off[li] + idx] *= -1
                for e in range(n_changes[li]):
                    b = pre_off[li] + e
                    idx = (changes[0, b] * w + changes[1, b]) * o_n + changes[2, b]
                    cur_pre[pre_off[li] + idx] *= -1
                n_toggles[li] = 0
                n_changes[li] = 0
    return predictions


# serial and without the GIL: `mrambnn.engine.threads.in_blocks` runs it in threads
draws_kernel = njit(cache=True, nogil=True)(_draws_body)
