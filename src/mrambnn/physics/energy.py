"""Write energy, access-transistor width and 1T1R cell area for a write pulse.

Conventions (docs/physics.md section 3):
- energy drawn from the supply per pulse, NVSim convention:
  ``E = V_supply * I * t + C_BL * V_supply^2`` (bit-line charging per pulse);
- access-transistor width to carry the write current: ``W = I / (k * I_on)``, with
  ``I_on`` the saturation drive current per unit width of the node and ``k`` a derating
  for the reduced gate/drain bias of a write;
- cell area in F^2: ``5.75 * W/F + 8.6``, a straight line through NVSim's sample cells
  (57.5 F^2 at W = 8.5 F, 34.5 F^2 at W = 4.5 F); never below the MTJ pitch floor.
The transistor must drive both directions, so a cell is sized for the larger of its
P->AP and AP->P currents.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

from mrambnn.physics.mtj import MTJ
from mrambnn.physics.switching import MAX_REDUCED_CURRENT, pulse_width_for_wer

__all__ = ["AREA_INTERCEPT_F2", "AREA_SLOPE", "WriteCircuit", "WritePulse", "cell_area",
           "check_drivable", "current_for_energy", "current_limit",
           "energy_optimal_pulse", "max_current", "pulse_at", "pulse_energy",
           "transistor_width"]


@dataclass(frozen=True, kw_only=True)
class WriteCircuit:
    """Write path of a 1T1R cell at one technology node (SI units).

    Attributes:
        v_supply: write-driver supply, V (28 nm: 0.9 V, range 0.8-1.0 V).
        c_bitline: bit-line capacitance charged per pulse, F (10-50 fF; 20 fF default).
        i_on: NMOS drive current per unit width, A/m (28 nm: 0.5-1 mA/um; 0.75 mA/um).
        derating: k, fraction of ``i_on`` available during a write (0.5-0.7; 0.6).
        feature: F, m (28 nm).
        min_cell_area_f2: smallest 1T1R cell, F^2 (MTJ pitch and contacts; 20 F^2).
        source: citation.
    """

    v_supply: float = 0.9
    c_bitline: float = 20e-15
    i_on: float = 750.0
    derating: float = 0.6
    feature: float = 28e-9
    min_cell_area_f2: float = 20.0
    source: str = ("typical 28 nm FD-SOI values; NVSim (Dong et al., IEEE TCAD 31, 994 "
                   "(2012)) energy convention and sample cells")

    def __post_init__(self) -> None:
        for name in ("v_supply", "i_on", "derating", "feature", "min_cell_area_f2"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0, got {getattr(self, name)}")
        if self.c_bitline < 0:
            raise ValueError(f"c_bitline must be >= 0, got {self.c_bitline}")


def _check_current(current: float) -> None:
    if not np.isfinite(current) or current <= 0:
        raise ValueError(f"write current must be > 0 A, got {current}")


def pulse_energy(circuit: WriteCircuit, *, current: float, width: float) -> float:
    """Energy drawn from the supply by one write pulse, J."""
    _check_current(current)
    if not np.isfinite(width) or width <= 0:
        raise ValueError(f"pulse width must be > 0 s, got {width}")
    return circuit.v_supply * current * width + circuit.c_bitline * circuit.v_supply**2


def current_for_energy(circuit: WriteCircuit, *, energy: float, width: float) -> float:
    """The current (A) of the ``width`` (s) pulse that draws ``energy`` (J): the inverse
    of `pulse_energy`."""
    current = (energy - circuit.c_bitline * circuit.v_supply**2) / (circuit.v_supply * width)
    _check_current(current)
    return current


def transistor_width(circuit: WriteCircuit, current: float) -> float:
    """Access-transistor width that carries ``current`` (A), m."""
    _check_current(current)
    return current / (circuit.derating * circuit.i_on)


# 1T1R cell area in F^2 = AREA_SLOPE * W/F + AREA_INTERCEPT_F2 (module docstring)
AREA_SLOPE = 5.75
AREA_INTERCEPT_F2 = 8.6


def cell_area(circuit: WriteCircuit, current: float) -> float:
    """1T1R cell area, in units of F^2, for a transistor sized for ``current`` (A)."""
    width_f = transistor_width(circuit, current) / circuit.feature
    return max(AREA_SLOPE * width_f + AREA_INTERCEPT_F2, circuit.min_cell_area_f2)


@dataclass(frozen=True, kw_only=True)
class WritePulse:
    """A write pulse and what it costs. SI units; ``area_f2`` in F^2."""

    current: float
    width: float
    wer: float
    energy: float
    transistor_width: float
    area_f2: float


def max_current(mtj: MTJ, circuit: WriteCircuit, direction: str) -> float:
    """Largest current the supply can push through the junction's initial state, A."""
    return current_limit(mtj, circuit, direction)[0]


def current_limit(mtj: MTJ, circuit: WriteCircuit, direction: str) -> tuple[float, str]:
    """`max_current` (A) and what sets it, in words: the supply's headroom ``Vdd / R``
    through the junction's state before the write, or the switching tables' range
    (``MAX_REDUCED_CURRENT`` x ic0)."""
    resistance = mtj.resistance_before(direction)
    headroom = circuit.v_supply / resistance
    tables = MAX_REDUCED_CURRENT * mtj.ic0(direction)
    if headroom <= tables:
        return headroom, (f"the supply: Vdd {circuit.v_supply:g} V / R {resistance:.0f} ohm = "
                          f"{headroom * 1e6:.0f} uA")
    return tables, (f"the switching tables' range: {MAX_REDUCED_CURRENT:g} x ic0 = "
                    f"{tables * 1e6:.0f} uA")


def check_drivable(mtj: MTJ, circuit: WriteCircuit, current: float, direction: str) -> None:
    """Raise ValueError if the supply cannot push ``current`` (A) through the junction in
    its state before a ``direction`` write (`max_current`)."""
    top = max_current(mtj, circuit, direction)
    if current > top:
        raise ValueError(f"the pulse needs {current * 1e6:.1f} uA but the supply (Vdd "
                         f"{circuit.v_supply:g} V) drives at most {top * 1e6:.1f} uA through "
                         f"the junction ({direction})")


def pulse_at(mtj: MTJ, circuit: WriteCircuit, *, wer: float, current: float,
             direction: str = "p2ap") -> WritePulse:
    """The pulse of ``current`` (A) just long enough for ``wer``, with its costs."""
    width = pulse_width_for_wer(mtj, wer, current=current, direction=direction)
    return WritePulse(current=current, width=width, wer=wer,
                      energy=pulse_energy(circuit, current=current, width=width),
                      transistor_width=transistor_width(circuit, current),
                      area_f2=cell_area(circuit, current))


def energy_optimal_pulse(mtj: MTJ, circuit: WriteCircuit, *, wer: float,
                         direction: str = "p2ap", max_reduced_current: float | None = None
                         ) -> WritePulse:
    """The lowest-energy pulse (current and width) that reaches ``wer``.

    The current ranges from just above ic0 to the supply headroom (or
    ``max_reduced_current * ic0`` when given, e.g. to cap the transistor size).
    """
    ic0 = mtj.ic0(direction)
    top = max_current(mtj, circuit, direction)
    if max_reduced_current is not None:
        top = min(top, max_reduced_current * ic0)
    bottom = 1.02 * ic0
    if top <= bottom:
        raise ValueError(f"the supply cannot drive {bottom:.3g} A through the junction")

    def energy(log_current: float) -> float:
        return pulse_at(mtj, circuit, wer=wer, current=float(np.exp(log_current)),
                        direction=direction).energy

    best = minimize_scalar(energy, bounds=(np.log(bottom), np.log(top)), method="bounded",
                           options={"xatol": 1e-4})
    candidates = [float(np.exp(best.x)), top]
    current = min(candidates, key=lambda c: energy(np.log(c)))
    return pulse_at(mtj, circuit, wer=wer, current=current, direction=direction)
