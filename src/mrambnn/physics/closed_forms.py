"""Closed-form write error rates in reduced units (i = I / ic0, s = t / tau_d).

Each holds in its own regime only (docs/physics.md section 2):
- thermally activated (i < ~0.8, long pulses): Neel-Brown with spin torque,
- precessional (i > ~2, short pulses): Sun (thermal initial angle) or Butler's variant.
"""

import numpy as np

__all__ = ["kramers_tau", "wer_butler", "wer_sun", "wer_thermal"]


def kramers_tau(delta: float, i: np.ndarray) -> np.ndarray:
    """Escape time (units of tau_d) of the macrospin over its barrier under current i < 1.

    High-barrier (Kramers-Brown) asymptote of the Fokker-Planck mean first-passage time,
    derived for the equation of `mrambnn.physics.fokker_planck` at h = 0:
    ``tau = sqrt(pi/delta) exp(delta (1-i)^2) / ((1 - i^2)(1 - i))``; at i = 0 this is the
    familiar ``tau_d sqrt(pi/delta) e^delta``. Valid for delta (1 - i)^2 >> 1.
    """
    i = np.asarray(i, dtype=np.float64)
    if np.any(i >= 1):
        raise ValueError("the thermal escape time needs i < 1")
    return np.sqrt(np.pi / delta) * np.exp(delta * (1 - i) ** 2) / ((1 - i**2) * (1 - i))


def wer_thermal(delta: float, i: np.ndarray, s: np.ndarray, *, b: float = 2.0,
                tau0: float | None = None) -> np.ndarray:
    """Neel-Brown: WER = exp(-s / tau), tau = tau0 exp(delta (1 - i)^b) (units of tau_d).

    ``tau0=None`` takes the macrospin-consistent prefactor of `kramers_tau` (b = 2 only);
    otherwise ``tau0`` is an engineering attempt time in units of tau_d.
    """
    i, s = np.asarray(i, dtype=np.float64), np.asarray(s, dtype=np.float64)
    if tau0 is None:
        if b != 2.0:
            raise ValueError("the Kramers prefactor is derived for b = 2; give tau0")
        tau = kramers_tau(delta, i)
    else:
        tau = tau0 * np.exp(delta * np.clip(1 - i, 0, None) ** b)
    return np.exp(-s / tau)


def wer_sun(delta: float, i: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Sun (PRB 62, 570 (2000)) with a thermal initial angle, i > 1:
    ``WER = 1 - exp(-(pi^2 delta / 4) exp(-2 (i - 1) s))``."""
    i, s = np.asarray(i, dtype=np.float64), np.asarray(s, dtype=np.float64)
    if np.any(i <= 1):
        raise ValueError("the precessional formula needs i > 1")
    return -np.expm1(-(np.pi**2 * delta / 4) * np.exp(-2 * (i - 1) * s))


def wer_butler(delta: float, i: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Butler et al. (IEEE Trans. Magn. 48, 4684 (2012)) variant: Sun's prefactor times
    (i - 1)/i; same tail slope 2 (i - 1)."""
    i, s = np.asarray(i, dtype=np.float64), np.asarray(s, dtype=np.float64)
    if np.any(i <= 1):
        raise ValueError("the precessional formula needs i > 1")
    return -np.expm1(-(np.pi**2 * delta / 4) * (i - 1) / i * np.exp(-2 * (i - 1) * s))
