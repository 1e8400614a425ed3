"""BatchNorm folded into integer thresholds and affine score maps, exactly.

A layer's integer sum ``a`` (XNOR-popcount or, in a first layer, the sum of integer pixel
levels times +-1 weights) stands for the real pre-activation ``z = s a + b``: ``s > 0`` the
scale of the first layer's inputs (1 in a binary layer), ``b`` a bias (0 without). Then
``y = gamma (z - mu) / sigma + beta`` with ``sigma = sqrt(var + eps)``, and the bit is
``y >= 0`` (sign(0) = +1):
- gamma > 0: ``y >= 0  <=>  a >= tau`` with ``tau = (mu - b - beta sigma / gamma) / s``;
- gamma < 0: ``y >= 0  <=>  a <= tau``, i.e. ``-a >= -floor(tau)``;
- gamma = 0: the bit is the constant ``beta >= 0``.
The bound is estimated in float64, then settled exactly: the sign of
``gamma (z - mu) + beta sigma`` at the integers beside it is decided in rational
arithmetic (the float parameters taken as exact binary fractions, ``sigma`` irrational
included), so a sum that BatchNorm sends exactly to zero gets +1 as sign(0) does.
Thresholds beyond +-2^40 (no real layer's sum reaches them) are clipped there.
"""

from fractions import Fraction

import numpy as np

from mrambnn.engine.layers import Affine, Threshold

__all__ = ["ALWAYS", "fold_affine", "fold_batchnorm"]

ALWAYS = 2**40  # a threshold no integer pre-activation of a real layer reaches


def _sign_at(a: int, gamma: Fraction, beta: Fraction, centre: Fraction, scale: Fraction,
             variance: Fraction) -> int:
    """Exact sign (-1, 0, 1) of ``gamma (scale a - centre) + beta sqrt(variance)``."""
    x = gamma * (scale * a - centre)
    y = beta
    if x == 0 or y == 0 or (x > 0) == (y > 0):
        total = x if y == 0 else y if x == 0 else x
        return (total > 0) - (total < 0)
    difference = x * x - y * y * variance  # |x| against |y| sqrt(variance)
    bigger = x if difference > 0 else y
    return 0 if difference == 0 else (bigger > 0) - (bigger < 0)


def _settle(estimate: float, *args: Fraction) -> int:
    """The smallest integer a with a non-negative `_sign_at` (which increases with a),
    from a float estimate a few units off; clipped to +-ALWAYS."""
    if not abs(estimate) < ALWAYS:
        return int(np.clip(estimate, -ALWAYS, ALWAYS))
    a = int(estimate)
    while a > -ALWAYS and _sign_at(a - 1, *args) >= 0:
        a -= 1
    while a < ALWAYS and _sign_at(a, *args) < 0:
        a += 1
    return a


def _parameters(mean: np.ndarray, variance: np.ndarray, gamma: np.ndarray,
                beta: np.ndarray, eps: float, bias: np.ndarray | None
                ) -> tuple[np.ndarray, ...]:
    arrays = [np.asarray(v, dtype=np.float64).ravel() for v in (mean, variance, gamma, beta)]
    n = arrays[0].size
    arrays.append(np.zeros(n) if bias is None else np.asarray(bias, np.float64).ravel())
    if any(a.size != n for a in arrays):
        raise ValueError("BatchNorm mean, variance, gamma, beta and bias must have one "
                         "value per output")
    if not all(np.isfinite(a).all() for a in arrays) or not np.isfinite(eps) \
            or np.any(arrays[1] + eps <= 0):
        raise ValueError("BatchNorm parameters must be finite with variance + eps > 0")
    return tuple(arrays)


def fold_batchnorm(*, mean: np.ndarray, variance: np.ndarray, gamma: np.ndarray,
                   beta: np.ndarray, eps: float, bias: np.ndarray | None = None,
                   input_scale: Fraction | int = 1) -> Threshold:
    """The `Threshold` equal to ``sign(BatchNorm(s a + bias))`` for every integer ``a``
    (module docstring).

    Args:
        mean, variance, gamma, beta: (out,) the BatchNorm's running statistics and affine
            parameters (float64 values taken as exact).
        eps: the BatchNorm's epsilon.
        bias: (out,) a bias added before the BatchNorm, or None.
        input_scale: s > 0, exact (a `Fraction` such as 1/255 or 2^-7).
    Raises:
        ValueError: non-finite parameters, variance + eps <= 0 or s <= 0.
    """
    mu, var, g, beta_, b = _parameters(mean, variance, gamma, beta, eps, bias)
    scale = Fraction(input_scale)
    if scale <= 0:
        raise ValueError(f"input_scale must be positive, got {scale}")
    sigma = np.sqrt(var + eps)
    safe_gamma = np.where(g == 0, 1.0, g)
    with np.errstate(over="ignore", invalid="ignore"):
        tau = (mu - b - beta_ * sigma / safe_gamma) / float(scale)
    threshold = np.empty(g.size, np.int64)
    for o in range(g.size):
        variance_o = Fraction(float(var[o])) + Fraction(eps)
        centre = Fraction(float(mu[o])) - Fraction(float(b[o]))
        gamma_o, beta_o = Fraction(float(g[o])), Fraction(float(beta_[o]))
        if g[o] > 0:
            threshold[o] = _settle(float(np.ceil(tau[o])), gamma_o, beta_o, centre, scale,
                                   variance_o)
        elif g[o] < 0:  # in a' = -a: (-gamma)(s a' + centre) + beta sigma >= 0, increasing
            threshold[o] = _settle(float(np.ceil(-tau[o])), -gamma_o, beta_o, -centre,
                                   scale, variance_o)
        else:
            threshold[o] = -ALWAYS if beta_[o] >= 0 else ALWAYS
    direction = np.where(g < 0, -1, 1).astype(np.int8)
    return Threshold(threshold=threshold, direction=direction)


def fold_affine(*, mean: np.ndarray | None = None, variance: np.ndarray | None = None,
                gamma: np.ndarray | None = None, beta: np.ndarray | None = None,
                eps: float = 0.0, bias: np.ndarray | None = None, n_out: int,
                input_scale: Fraction | int = 1) -> Affine:
    """Class scores of an output layer: ``BatchNorm(s a + bias)`` as ``a * scale + offset``
    (float64), or ``s a + bias`` without BatchNorm (``mean`` None)."""
    s = float(Fraction(input_scale))
    b = np.zeros(n_out) if bias is None else np.asarray(bias, np.float64).ravel()
    if b.size != n_out:
        raise ValueError(f"bias has {b.size} values for {n_out} outputs")
    if mean is None or variance is None or gamma is None or beta is None:
        return Affine(scale=np.full(n_out, s), offset=b)
    mu, var, g, beta_, b = _parameters(mean, variance, gamma, beta, eps, b)
    factor = g / np.sqrt(var + eps)
    return Affine(scale=factor * s, offset=beta_ + factor * (b - mu))
