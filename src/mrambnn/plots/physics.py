"""Figures of the device physics: WER against pulse width, energy and cell area against
the target WER, and the calibration against measured switching."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mrambnn.physics.calibration import MeasuredCurve
from mrambnn.physics.energy import WriteCircuit, current_limit, pulse_at
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.switching import currents_for_wers, write_error_rate
from mrambnn.plots.style import new_figure, save

__all__ = ["plot_calibration", "plot_energy_vs_target_wer", "plot_wer_vs_width"]


def plot_wer_vs_width(mtj: MTJ, path: Path, *, reduced_currents: Sequence[float] = (
        0.8, 1.0, 1.2, 1.5, 2.0, 3.0, 5.0), direction: str = "p2ap", device: str = "") -> Path:
    """WER (log) vs pulse width (log) for several currents (multiples of ic0) of the
    device called ``device``."""
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
        ax.set_title(f"{device + ': ' if device else ''}macrospin WER (Fokker-Planck), "
                     f"delta {mtj.delta:g}", fontsize=8)
        ax.legend()
        return save(fig, path)


def plot_energy_vs_target_wer(mtj: MTJ, circuit: WriteCircuit, path: Path, *,
                              width: float = 10e-9, device: str = "") -> Path:
    """At a fixed pulse width: left, the write energy per bit against the target WER for
    each write direction; right, the 1T1R cell area, its transistor sized for the larger
    of the two directions' currents (every cell is written both ways). Both axes log in
    the WER, increasing to the right; currents beyond a direction's limit
    (`mrambnn.physics.energy.current_limit`: the supply through the junction's state
    before the write) dotted."""
    targets = np.geomspace(1e-12, 1e-2, 41)
    pulses = {direction: [pulse_at(mtj, circuit, wer=w, direction=direction, current=c)
                          for w, c in zip(targets, currents_for_wers(
                              mtj, targets, width=width, direction=direction), strict=True)]
              for direction in ("p2ap", "ap2p")}
    with new_figure(7.2, 3.0, ncols=2) as (fig, (energy_ax, area_ax)):
        for index, direction in enumerate(("p2ap", "ap2p")):
            rows = pulses[direction]
            energy = np.array([p.energy * 1e12 for p in rows])
            top = current_limit(mtj, circuit, direction)[0]
            drivable = np.array([p.current <= top for p in rows])
            energy_ax.semilogx(targets, np.where(drivable, energy, np.nan), color=f"C{index}",
                               label=f"{direction} (ic0 {mtj.ic0(direction) * 1e6:.0f} uA, "
                               f"limit {top * 1e6:.0f} uA)")
            beyond = ~drivable
            if beyond.any():  # dotted, joined to the drivable part by one point
                mask = beyond.copy()
                mask[1:] |= beyond[:-1]
                mask[:-1] |= beyond[1:]
                energy_ax.semilogx(targets, np.where(mask, energy, np.nan), ls=":",
                                   color=f"C{index}")
        energy_ax.set_xlabel("target write error rate")
        energy_ax.set_ylabel("write energy per bit (pJ)")
        energy_ax.legend(loc="lower left", title_fontsize=6, fontsize=6,
                         title="write direction (dotted: beyond the current limit)")
        area = [max(a.area_f2, b.area_f2) for a, b in zip(pulses["p2ap"], pulses["ap2p"],
                                                            strict=True)]
        current = [max(a.current, b.current) * 1e6
                   for a, b in zip(pulses["p2ap"], pulses["ap2p"], strict=True)]
        area_ax.semilogx(targets, area, color="C2")
        area_ax.set_xlabel("target write error rate")
        area_ax.set_ylabel("1T1R cell area (F$^2$)")
        for index in (0, len(targets) // 2, len(targets) - 1):
            area_ax.annotate(f"{current[index]:.0f} uA", (targets[index], area[index]),
                             textcoords="offset points", xytext=(4, 4), fontsize=6)
        area_ax.set_title("transistor sized for the larger current", fontsize=7)
        fig.suptitle(f"{device + ': ' if device else ''}{width * 1e9:g} ns pulses, Vdd "
                     f"{circuit.v_supply:g} V", fontsize=8)
        return save(fig, path)


def plot_calibration(mtj: MTJ, pulse_curve: MeasuredCurve, amplitude_curve: MeasuredCurve,
                     path: Path, *, device: str = "") -> Path:
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
        fig.suptitle(f"Calibration{' of ' + device if device else ''}: delta {mtj.delta:g}, "
                     f"ic0 {mtj.ic0_p2ap * 1e6:.1f} uA, tau_d {mtj.tau_d * 1e9:.3f} ns "
                     "(Rehm et al. 2023, Fig. 1)", fontsize=8)
        return save(fig, path)
