"""Calibrating the macrospin switching model to a measured switching-probability curve.

Data: Rehm, Morshed et al., "Temperature-resilient true random number generation with
stochastic actuated magnetic tunnel junction devices", arXiv:2310.18779 (2023), Fig. 1:
(a) switching probability of a perpendicular CoFeB/MgO MTJ against pulse duration at a
fixed amplitude, (b) against pulse amplitude for 1 ns pulses, both at 300 K. The points
below are the digitization published with JaredArz/Stochastic_MTJ_Model
(exp_verify/exp_data/fig1aLR.txt, fig1bLR300.txt); its parameter notes give the device's
resistances, R_P = 2530 Ohm and R_AP = 5849 Ohm.

Assumptions, each stated where it is used:
- panel (a) is taken at the amplitude where 1 ns pulses switch half the time, i.e. the
  median of panel (b): 0.681 V (panel (a) itself gives P(1.0 ns) = 0.502);
- current = amplitude / R_P (ohmic; the same assumption as the digitizing model);
- points at P = 0 or 1 are left out (no information on the logit scale).

The fit: for each candidate delta (a switching table per delta), least squares on
logit(P) weighted as binomial counts over ic0 and tau_d; the best delta wins.
`PULSE_CURVE` is what the preset `rehm2023-smtj` was fitted to; `AMPLITUDE_CURVE` is
kept as a check the fit does not use: the measured probability rises faster with
amplitude than the macrospin model's (up to 0.2 apart away from the median), which a
bias-dependent resistance or heating could explain and a macrospin at fixed ic0 cannot.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import least_squares

from mrambnn.physics.mtj import MTJ
from mrambnn.physics.switching import MAX_REDUCED_CURRENT, write_error_rate

__all__ = ["AMPLITUDE_CURVE", "PULSE_CURVE", "R_AP", "R_P", "Calibration", "MeasuredCurve",
           "fit_switching", "switching_probability"]

R_P = 2530.0  # Ohm
R_AP = 5849.0  # Ohm
_V_MEDIAN_1NS = 0.681  # V, median of panel (b) at 1 ns (interpolated, see module docstring)


@dataclass(frozen=True, kw_only=True, eq=False)
class MeasuredCurve:
    """Measured switching probabilities at pulses (current, width), with their source.

    Attributes:
        current: (n,) pulse currents, A.
        width: (n,) pulse widths, s.
        probability: (n,) measured switching probabilities (1 - WER), in (0, 1).
        source: citation.
    """

    current: np.ndarray
    width: np.ndarray
    probability: np.ndarray
    source: str


_PANEL_A_NS = np.array([0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6, 1.7,
                        1.8, 1.9, 2.0, 2.1, 2.2, 2.3, 2.4, 2.5, 2.6, 2.7, 3.0, 3.5])
_PANEL_A_P = np.array([2.0e-4, 0.0025, 0.0159, 0.0652, 0.1709, 0.3218, 0.5022, 0.6644, 0.789,
                       0.8678, 0.9251, 0.953, 0.9696, 0.9839, 0.987, 0.9935, 0.9954, 0.9967,
                       0.9976, 0.999, 0.9993, 0.9994, 0.9999, 0.9996, 0.9999, 0.9999])
_PANEL_B_V = np.array([0.4504, 0.4700, 0.4896, 0.5092, 0.5288, 0.5483, 0.5679, 0.5875, 0.6071,
                       0.6267, 0.6463, 0.6659, 0.6854, 0.7050, 0.7246, 0.7442, 0.7638, 0.7834,
                       0.8029, 0.8225, 0.8421, 0.8617, 0.8813, 0.9009, 0.9204, 0.9400, 0.9596,
                       0.9792])
_PANEL_B_P = np.array([2.0e-4, 4.0e-4, 4.0e-4, 0.003, 0.007, 0.0115, 0.0275, 0.0626, 0.1114,
                       0.1852, 0.2859, 0.4051, 0.5286, 0.6462, 0.742, 0.8151, 0.8806, 0.9192,
                       0.9436, 0.9676, 0.9761, 0.9821, 0.9866, 0.9904, 0.9934, 0.9958, 0.9962,
                       0.9975])
_SOURCE = ("Rehm, Morshed et al., arXiv:2310.18779 (2023), Fig. 1{panel}, 300 K; digitized in "
           "JaredArz/Stochastic_MTJ_Model exp_verify/exp_data/fig1{panel}LR{suffix}.txt")

PULSE_CURVE = MeasuredCurve(
    current=np.full(_PANEL_A_NS.size, _V_MEDIAN_1NS / R_P), width=_PANEL_A_NS * 1e-9,
    probability=_PANEL_A_P, source=_SOURCE.format(panel="a", suffix=""))
AMPLITUDE_CURVE = MeasuredCurve(
    current=_PANEL_B_V / R_P, width=np.full(_PANEL_B_V.size, 1e-9),
    probability=_PANEL_B_P, source=_SOURCE.format(panel="b", suffix="300"))


def switching_probability(mtj: MTJ, curve: MeasuredCurve, direction: str = "p2ap"
                          ) -> np.ndarray:
    """The model's switching probability (1 - WER) at each pulse of ``curve``."""
    return 1.0 - write_error_rate(mtj, current=curve.current, width=curve.width,
                                  direction=direction)


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


@dataclass(frozen=True, kw_only=True)
class Calibration:
    """A fitted junction and how well it reproduces the measured points.

    Attributes:
        mtj: the template with the fitted delta, ic0 (both directions) and tau_d.
        max_error: largest |P_model - P_measured| over the fitted points.
        rms_logit: root-mean-square weighted logit residual over the fitted points.
    """

    mtj: MTJ
    max_error: float
    rms_logit: float


def fit_switching(curve: MeasuredCurve, template: MTJ, deltas: Sequence[float]) -> Calibration:
    """Least-squares fit of ic0 and tau_d (per candidate delta) to ``curve``.

    Only ``delta``, ``ic0_p2ap = ic0_ap2p`` and ``tau_d`` of ``template`` change; points at
    P = 0 or 1 are skipped.
    """
    keep = (curve.probability > 0) & (curve.probability < 1)
    points = MeasuredCurve(current=curve.current[keep], width=curve.width[keep],
                           probability=curve.probability[keep], source=curve.source)
    target = _logit(points.probability)
    # binomial counts: the logit of a measured P has a standard deviation proportional
    # to 1 / sqrt(P (1 - P)), so residuals are weighted by sqrt(P (1 - P))
    weight = np.sqrt(points.probability * (1 - points.probability))
    best: Calibration | None = None
    for delta in deltas:
        def junction(theta: np.ndarray, delta: float = delta) -> MTJ:
            ic0 = float(np.exp(theta[0]))
            return replace(template, delta=delta, ic0_p2ap=ic0, ic0_ap2p=ic0,
                           tau_d=float(np.exp(theta[1])))

        def residual(theta: np.ndarray, junction=junction) -> np.ndarray:  # noqa: ANN001
            return weight * (_logit(switching_probability(junction(theta), points)) - target)

        # the fit has several local minima (ic0 and tau_d trade off): start from a grid
        top = float(np.max(points.current))
        starts = [(np.log(c * top), np.log(t)) for c in (0.15, 0.25, 0.4, 0.8)
                  for t in (0.2e-9, 0.5e-9, 1e-9, 2e-9)]
        # the table covers I / ic0 <= MAX_REDUCED_CURRENT
        bounds = ([np.log(top / (0.99 * MAX_REDUCED_CURRENT)), np.log(2e-11)],
                  [np.log(10 * top), np.log(1e-7)])
        fits = [least_squares(residual, start, bounds=bounds) for start in starts]
        fit = min(fits, key=lambda f: f.cost)
        mtj = junction(fit.x)
        error = float(np.max(np.abs(switching_probability(mtj, points) - points.probability)))
        candidate = Calibration(mtj=mtj, max_error=error,
                                rms_logit=float(np.sqrt(np.mean(fit.fun**2))))
        if best is None or candidate.rms_logit < best.rms_logit:
            best = candidate
    if best is None:
        raise ValueError("no candidate delta given")
    return best
