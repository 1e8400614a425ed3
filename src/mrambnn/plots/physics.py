"""Figures of the device physics: WER against pulse width, energy and cell area against
the target WER, and the calibration against measured switching."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mrambnn.physics.calibration import MeasuredCurve
from mrambnn.physics.energy import WriteCircuit, pulse_at
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.switching import current_for_wer, write_error_rate
from mrambnn.plots.style import new_figure, save

__all__ = ["plot_calibration", "plot_energy_vs_target_wer", "plot_wer_vs_width"]


def plot_wer_vs_width(mtj: MTJ, path: Path, *, reduced_currents: Sequence[float] = (
        0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0), direction: str = "p2ap") -> Path:
    """WER (log) vs pulse width (log) for several currents (multiples of ic0)."""
    widths = np.geomspace(0.2e-9, 1e-6, 400)
    with new_figure(4.6, 3.3) as (fig, ax):
        for i in reduced_currents:
            current = i * mtj.ic0(direction)
            wer = write_error_rate(mtj, current=current, width=widths, direction=direction)
            ax.loglog(widths * 1e9, np.clip(wer, 1e-16, 1), label=f"{i:g} ic0 "
                      f"({current * 1e6:.0f} uA)")
        ax.set_ylim(1e-12, 2)
        ax.set_xlabel("pulse width (ns)")
        ax.set_ylabel(f"write error rate ({direction})")
        ax.set_title(f"Macrospin WER (Fokker-Planck), delta = {mtj.delta:g}")
        ax.legend()
        return save(fig, path)


def plot_energy_vs_target_wer(mtj: MTJ, circuit: WriteCircuit, path: Path, *,
                              width: float = 10e-9, direction: str = "p2ap") -> Path:
    """Energy per bit and cell area against the target WER at a fixed pulse width."""
    targets = np.geomspace(1e-12, 1e-2, 41)
    pulses = [pulse_at(mtj, circuit, wer=w, direction=direction,
                       current=current_for_wer(mtj, w, width=width, direction=direction))
              for w in targets]
    with new_figure(4.6, 3.3) as (fig, ax):
        ax.semilogx(targets, [p.energy * 1e12 for p in pulses], color="C0")
        ax.set_xlabel("target write error rate")
        ax.set_ylabel("write energy per bit (pJ)", color="C0")
        twin = ax.twinx()
        twin.semilogx(targets, [p.area_f2 for p in pulses], color="C1", ls="--")
        twin.set_ylabel("1T1R cell area (F$^2$)", color="C1")
        ax.set_title(f"{width * 1e9:g} ns pulses, {direction}, Vdd {circuit.v_supply} V")
        ax.invert_xaxis()
        return save(fig, path)


def plot_calibration(mtj: MTJ, pulse_curve: MeasuredCurve, amplitude_curve: MeasuredCurve,
                     path: Path) -> Path:
    """Measured switching probability (points) and the calibrated model (lines): against
    pulse duration (fitted) and against current at 1 ns (not fitted)."""
    with new_figure(7.0, 2.9, ncols=2) as (fig, (left, right)):
        widths = np.linspace(0.3e-9, 3.5e-9, 200)
        model = 1 - write_error_rate(mtj, current=pulse_curve.current[0], width=widths)
        left.plot(pulse_curve.width * 1e9, pulse_curve.probability, "o", ms=3,
                  label="measured")
        left.plot(widths * 1e9, model, label="model (fitted)")
        left.set_xlabel(f"pulse width (ns), {pulse_curve.current[0] * 1e6:.0f} uA")
        left.set_ylabel("switching probability")
        left.legend()
        currents = np.linspace(amplitude_curve.current.min(), amplitude_curve.current.max(), 200)
        model = 1 - write_error_rate(mtj, current=currents, width=amplitude_curve.width[0])
        right.plot(amplitude_curve.current * 1e6, amplitude_curve.probability, "o", ms=3,
                   label="measured")
        right.plot(currents * 1e6, model, label="model (not fitted)")
        right.set_xlabel(f"current (uA), {amplitude_curve.width[0] * 1e9:g} ns pulses")
        right.legend()
        fig.suptitle(f"Calibration: delta {mtj.delta:g}, ic0 {mtj.ic0_p2ap * 1e6:.1f} uA, "
                     f"tau_d {mtj.tau_d * 1e9:.3f} ns (Rehm et al. 2023, Fig. 1)", fontsize=8)
        return save(fig, path)
