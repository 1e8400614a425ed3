"""Operands of the compiled conv kernels (`mrambnn.engine.kernels`): filters laid out
for the kernels' loops, zero-padded first-layer maps, and each output's bit and margin as
a function of its accumulator (the folded threshold solved once per layer)."""

from collections.abc import Sequence

import numpy as np

__all__ = ["binary_operand", "integer_operands", "pixel_tables"]


def pixel_tables(threshold: np.ndarray, direction: np.ndarray, *,
                  counts: Sequence[int] | np.ndarray,
                  scale: int, reach: int, limit: int, dtype: type | np.dtype
                  ) -> tuple[np.ndarray, ...]:
    """A pixel's bits and margins as functions of its accumulator ``acc``, where its
    pre-activation is ``a = first + scale * acc`` (first: one value per entry of
    ``counts``) and ``|acc| <= reach``.

    Returns (lo, hi, base, unit, negative): bit = ``lo <= acc <= hi`` (lo, hi (F, out)
    of ``dtype``: ``direction * a >= threshold`` solved for acc, clipped to +-(reach + 1),
    which keeps every bit); margin ``direction * a - threshold = base + unit * acc``
    (base (F, out) int32, clipped to +-(limit + |scale| reach + 1), which keeps every
    margin clipped to +-limit); negative (out,) uint8, 1 where direction < 0 (pooled with
    AND instead of OR)."""
    first = np.asarray(counts, dtype=np.int64)[:, None]
    direction = np.asarray(direction, dtype=np.int64)
    threshold = np.clip(np.asarray(threshold, dtype=np.int64), -2**40, 2**40)
    unit = direction * scale  # direction * a - threshold = rest + unit * acc
    rest = direction * first - threshold
    # unit * acc >= -rest: acc >= ceil(-rest / unit) if unit > 0, <= floor(-rest / unit) if < 0
    bound = -rest / unit  # exact in float64: |rest| < 2^41
    edge = reach + 1
    lo = np.clip(np.where(unit > 0, np.ceil(bound), -edge), -edge, edge)
    hi = np.clip(np.where(unit < 0, np.floor(bound), edge), -edge, edge)
    spread = limit + abs(scale) * reach + 1
    base = np.clip(rest, -spread, spread)
    return (np.ascontiguousarray(lo, dtype=dtype), np.ascontiguousarray(hi, dtype=dtype),
            np.ascontiguousarray(base, dtype=np.int32),
            np.ascontiguousarray(unit, dtype=np.int32),
            np.ascontiguousarray(direction < 0, dtype=np.uint8))


def binary_operand(w: np.ndarray) -> np.ndarray:
    """(out, k, k, n_words) packed weights -> (k * k * n_words, out), outputs contiguous."""
    w = np.asarray(w, dtype=np.uint64)
    return np.ascontiguousarray(w.reshape(len(w), -1).T)


def integer_operands(x: np.ndarray, w: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Zero-padded maps and (k, k*C, out) weights of a first layer, both int16 where every
    partial sum and threshold (within +-(reach + 1)) fits 16 bits (twice the SIMD lanes),
    else int32; k; and the reach: the largest possible |sum|. Checks the sums fit."""
    n_out, k, _, c = np.shape(w)
    x = np.asarray(x)
    largest = max(-int(x.min(initial=0)), int(x.max(initial=0)))  # |x| without a copy
    reach = largest * k * k * c
    if reach >= 2**31 - 1:
        raise ValueError("first-layer inputs too large for int32 sums")
    dtype = np.int16 if reach < 2**15 - 1 else np.int32
    r = k // 2
    padded = np.pad(np.asarray(x, dtype=dtype), ((0, 0), (r, r), (r, r), (0, 0)))
    weights = np.asarray(w, dtype=dtype).reshape(n_out, k, k * c).transpose(1, 2, 0)
    return (padded.reshape(len(padded), padded.shape[1], -1), np.ascontiguousarray(weights),
            k, reach)
