"""Read disturb, retention and sensing errors (docs/physics.md section 4).

- Read disturb (one read of duration t_read at current I_read < ic0, thermally activated):
  ``P = 1 - exp(-(t_read / tau0) exp(-delta (1 - i_r)^b))``, i_r = I_read / ic0 of the
  direction the read current pushes; cumulative over n reads: ``1 - (1 - P)^n``.
- Retention (no current): ``P(t) = 1 - exp(-(t / tau0) e^-delta)``, the probability of a
  first flip; the probability of reading the wrong state, ``(1 - exp(-2 k t)) / 2`` with
  ``k = e^-delta / tau0`` (a two-state cell relaxing to random content), is the same to
  first order. With device-to-device spread both are averaged over a normal distribution
  of delta (never the mean delta plugged in).
- Sensing: Gaussian resistance distributions of P and AP cells and of the sense amplifier
  offset: ``P = Q((mu_AP - mu_P) / (2 sqrt(s_P^2 + s_AP^2 + s_SA^2)))`` for a reference
  midway between the two means (1T1R); a 2T2R differential cell compares its two devices
  directly, ``Q((mu_AP - mu_P) / sqrt(s_P^2 + s_AP^2 + s_SA^2))``.
"""

import numpy as np
from scipy import stats

from mrambnn.physics.mtj import MTJ

__all__ = ["read_disturb_probability", "retention_bit_error", "retention_failure",
           "sensing_error"]


def read_disturb_probability(mtj: MTJ, *, current: float, duration: float, n_reads: int = 1,
                             direction: str = "p2ap") -> float:
    """Probability that reads flip a cell, after ``n_reads`` reads of ``duration`` (s)."""
    if current < 0 or duration <= 0 or n_reads < 0:
        raise ValueError("need current >= 0 A, duration > 0 s and n_reads >= 0")
    i_r = current / mtj.ic0(direction)
    if i_r >= 1:
        raise ValueError(f"read current {current:g} A reaches ic0: it writes, not reads")
    rate = np.exp(-mtj.delta * (1 - i_r) ** mtj.b) / mtj.tau0  # per second
    return float(-np.expm1(-rate * duration * n_reads))


def retention_failure(mtj: MTJ, *, time: float, delta_sigma: float = 0.0,
                      n_points: int = 201) -> float:
    """Probability that a cell loses its state within ``time`` (s) without any access.

    ``delta_sigma`` is the device-to-device standard deviation of delta; the failure is
    averaged over it (Gauss-Hermite quadrature).
    """
    if time < 0 or delta_sigma < 0:
        raise ValueError("need time >= 0 s and delta_sigma >= 0")
    if delta_sigma == 0:
        return float(-np.expm1(-(time / mtj.tau0) * np.exp(-mtj.delta)))
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_points)
    deltas = mtj.delta + delta_sigma * nodes
    failure = -np.expm1(-(time / mtj.tau0) * np.exp(-deltas))
    return float(np.sum(weights * failure) / np.sum(weights))


def retention_bit_error(mtj: MTJ, *, time: float, delta_sigma: float = 0.0,
                        n_points: int = 201) -> float:
    """Probability that a cell *reads* the wrong state ``time`` (s) after writing.

    A symmetric two-state cell flips back and forth at rate ``k = e^-delta / tau0``: it
    is found flipped with probability ``(1 - exp(-2 k t)) / 2``, which equals the
    first-flip probability `retention_failure` to first order and tends to 1/2 (random
    content) instead of 1. Averaged over a Gaussian delta spread like `retention_failure`.
    """
    if time < 0 or delta_sigma < 0:
        raise ValueError("need time >= 0 s and delta_sigma >= 0")
    if delta_sigma == 0:
        return float(-np.expm1(-2 * (time / mtj.tau0) * np.exp(-mtj.delta)) / 2)
    nodes, weights = np.polynomial.hermite_e.hermegauss(n_points)
    deltas = mtj.delta + delta_sigma * nodes
    error = -np.expm1(-2 * (time / mtj.tau0) * np.exp(-deltas)) / 2
    return float(np.sum(weights * error) / np.sum(weights))


def sensing_error(mtj: MTJ, *, sigma_relative: float = 0.05, sense_offset: float = 0.0,
                  differential: bool = False) -> float:
    """Per-read probability of reading the wrong state from resistance spread.

    Args:
        sigma_relative: standard deviation of each state's resistance over its mean.
        sense_offset: sense-amplifier offset, expressed as a resistance standard deviation
            (ohm).
        differential: 2T2R cell (compare the two devices) instead of 1T1R + reference.
    """
    if sigma_relative < 0 or sense_offset < 0:
        raise ValueError("spreads must be >= 0")
    spread = np.sqrt((sigma_relative * mtj.r_p) ** 2 + (sigma_relative * mtj.r_ap) ** 2
                     + sense_offset**2)
    gap = mtj.r_ap - mtj.r_p
    if spread == 0:
        return 0.0
    margin = gap / spread if differential else gap / (2 * spread)
    return float(stats.norm.sf(margin))
