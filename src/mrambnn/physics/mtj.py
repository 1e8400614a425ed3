"""`MTJ`: the parameters of a perpendicular magnetic tunnel junction, in SI units.

Derived quantities follow the macrospin relations of docs/physics.md section 1:
``delta = mu0 Ms Hk_eff V / (2 kB T)``, ``ic0 = (4 e alpha kB T / (hbar eta)) delta``,
``tau_d = (1 + alpha^2) / (alpha gamma mu0 Hk_eff)``, ``r_p = RA / area``,
``r_ap = r_p (1 + TMR)``.
"""

import math
from dataclasses import dataclass

from mrambnn.units import GAMMA_E, HBAR, K_B, Q_E

__all__ = ["MTJ", "WRITE_DIRECTIONS"]

WRITE_DIRECTIONS = ("ap2p", "p2ap")


def _positive(name: str, value: float) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class MTJ:
    """Perpendicular MTJ (macrospin) parameters.

    Attributes:
        delta: thermal stability factor E_b / (kB T) of the free layer (retention and
            switching; incoherent reversal would make the switching value smaller).
        ic0_p2ap: critical current P -> AP at 0 K, A (needs more current: lower eta).
        ic0_ap2p: critical current AP -> P, A.
        tau_d: precession (relaxation) time unit (1 + alpha^2)/(alpha gamma mu0 Hk_eff), s.
        tau0: attempt time of thermally activated reversal and read disturb, s.
        b: exponent of the barrier lowering delta (1 - i)^b (2: ideal perpendicular
            macrospin; 1: older models and many device fits).
        r_p: parallel-state resistance at low bias, ohm.
        tmr0: zero-bias tunnel magnetoresistance ratio (1.5 = 150 %).
        v_h: bias at which the TMR halves, V.
        diameter: junction diameter, m.
        temperature: K.
        source: citation of the values.
    """

    delta: float
    ic0_p2ap: float
    ic0_ap2p: float
    tau_d: float
    tau0: float = 1e-9
    b: float = 2.0
    r_p: float = 4e3
    tmr0: float = 1.5
    v_h: float = 0.5
    diameter: float = 40e-9
    temperature: float = 300.0
    source: str = ""

    def __post_init__(self) -> None:
        for name in ("delta", "ic0_p2ap", "ic0_ap2p", "tau_d", "tau0", "r_p", "v_h",
                     "diameter", "temperature"):
            _positive(name, getattr(self, name))
        if not 1.0 <= self.b <= 2.0:
            raise ValueError(f"b must be in [1, 2], got {self.b}")
        if not (math.isfinite(self.tmr0) and self.tmr0 >= 0):
            raise ValueError(f"tmr0 must be >= 0, got {self.tmr0}")

    @property
    def r_ap(self) -> float:
        """Antiparallel-state resistance at low bias, ohm."""
        return self.r_p * (1.0 + self.tmr0)

    @property
    def area(self) -> float:
        """Junction area pi d^2 / 4, m^2."""
        return math.pi * self.diameter**2 / 4

    def ic0(self, direction: str) -> float:
        """Critical current of a write direction ('p2ap' or 'ap2p'), A."""
        if direction == "p2ap":
            return self.ic0_p2ap
        if direction == "ap2p":
            return self.ic0_ap2p
        raise ValueError(f"unknown write direction {direction!r}; choose one of "
                         f"{', '.join(WRITE_DIRECTIONS)}")

    def resistance_before(self, direction: str) -> float:
        """Resistance of the state a write in ``direction`` starts from, ohm."""
        self.ic0(direction)
        return self.r_p if direction == "p2ap" else self.r_ap

    @classmethod
    def from_material(
        cls, *, ms: float, mu0_hk_eff: float, thickness: float, diameter: float,
        alpha: float, eta_p2ap: float, eta_ap2p: float, ra: float, tmr0: float,
        temperature: float = 300.0, source: str = "", **extra: float,
    ) -> "MTJ":
        """Macrospin parameters from material constants (SI: A/m, T, m, ohm m^2).

        ``delta = mu0 Ms Hk V / (2 kB T)`` with ``mu0 Ms Hk = Ms * mu0_hk_eff``;
        ``ic0 = 4 e alpha kB T delta / (hbar eta)``; ``tau_d`` as in the module docstring.
        """
        for name, value in (("ms", ms), ("mu0_hk_eff", mu0_hk_eff), ("thickness", thickness),
                            ("diameter", diameter), ("alpha", alpha), ("eta_p2ap", eta_p2ap),
                            ("eta_ap2p", eta_ap2p), ("ra", ra)):
            _positive(name, value)
        volume = math.pi * diameter**2 / 4 * thickness
        delta = ms * mu0_hk_eff * volume / (2 * K_B * temperature)
        scale = 4 * Q_E * alpha * K_B * temperature * delta / HBAR
        tau_d = (1 + alpha**2) / (alpha * GAMMA_E * mu0_hk_eff)
        return cls(delta=delta, ic0_p2ap=scale / eta_p2ap, ic0_ap2p=scale / eta_ap2p,
                   tau_d=tau_d, r_p=ra / (math.pi * diameter**2 / 4), tmr0=tmr0,
                   diameter=diameter, temperature=temperature, source=source, **extra)
