"""Compiled primitives shared by the engine's kernels and the Monte Carlo evaluators.

Both are numba functions inlined into their callers: ``popcount`` of one uint64 word (the
SWAR bit trick, which LLVM turns into the CPU's popcnt instruction) and ``best_class``,
the arg-max of an output layer's class scores.
"""

import numpy as np
from numba import njit

__all__ = ["best_class", "popcount"]

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_H01 = np.uint64(0x0101010101010101)


@njit(inline="always", cache=True)
def popcount(v: np.uint64) -> np.uint64:
    """Number of set bits of the uint64 ``v``."""
    v = v - ((v >> np.uint64(1)) & _M1)
    v = (v & _M2) + ((v >> np.uint64(2)) & _M2)
    v = (v + (v >> np.uint64(4))) & _M4
    return (v * _H01) >> np.uint64(56)


@njit(inline="always", cache=True)
def best_class(a, scale, offset, n_classes):  # type: ignore[no-untyped-def]
    """Index of the largest ``a[c] * scale[c] + offset[c]`` over c < n_classes (the
    first on ties, as `numpy.argmax`): the predicted class of pre-activations ``a``
    under an `mrambnn.engine.layers.Affine` head."""
    best = 0
    best_score = a[0] * scale[0] + offset[0]
    for c in range(1, n_classes):
        score = a[c] * scale[c] + offset[c]
        if score > best_score:
            best, best_score = c, score
    return best
