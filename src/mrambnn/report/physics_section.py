"""The physics section of the report: from write pulse to accuracy."""

from pathlib import Path

from mrambnn.experiments.main_job import (
    CALIBRATED_PRESET,
    ENERGY_DROP,
    TARGET_WERS,
    PhysicsResult,
)
from mrambnn.physics.calibration import AMPLITUDE_CURVE, PULSE_CURVE
from mrambnn.physics.energy import AREA_INTERCEPT_F2, AREA_SLOPE
from mrambnn.plots import (
    plot_accuracy_vs_energy,
    plot_calibration,
    plot_energy_vs_target_wer,
    plot_wer_vs_width,
)
from mrambnn.report.formatting import percent_interval

__all__ = ["physics_section"]


def _citation(source: str) -> str:
    """The paper part of a measured curve's source (before where it was digitized)."""
    return source.split(";")[0]


def physics_section(result: PhysicsResult, out_dir: Path, *, device: str,
                    energy_model: str) -> list[str]:
    """Markdown lines (and four figures in ``out_dir``) for the physics section."""
    mtj, circuit, sweep = result.mtj, result.circuit, result.energy_sweep
    width = sweep.config.width
    plot_wer_vs_width(mtj, out_dir / "wer_vs_width.png", device=device)
    plot_calibration(result.calibrated, PULSE_CURVE, AMPLITUDE_CURVE,
                     out_dir / "calibration.png", device=CALIBRATED_PRESET)
    plot_energy_vs_target_wer(mtj, circuit, out_dir / "energy_vs_target_wer.png", width=width,
                              device=device)
    plot_accuracy_vs_energy(sweep, result.clean_accuracy, out_dir / "accuracy_vs_energy.png",
                            marked_energy=result.marked_energy,
                            label=f"{energy_model} on {device}")
    rows = [f"| {target:.0e} | {p.current * 1e6:.1f} | {p.energy * 1e12:.3f} | "
            f"{p.transistor_width * 1e9:.0f} | {p.area_f2:.1f} |"
            for target, p in zip(TARGET_WERS, result.target_pulses, strict=True)]
    strong, marked = result.strong_pulse, result.marked_energy
    saving = f"{strong.energy / marked:.2f}x" if marked else "n/a"
    table = [f"| {p.current * 1e6:.1f} | {p.energy_per_bit * 1e12:.3f} | "
             f"{p.wer_ap2p:.2e} | {p.wer_p2ap:.2e} | {100 * p.summary.mean:.2f} | "
             f"{percent_interval(p.summary.low, p.summary.high)} |"
             for p in sorted(sweep.points, key=lambda p: p.current)]
    drop = 100 * ENERGY_DROP
    return [
        "",
        "## From write pulse to accuracy (ST-MRAM physics)",
        "",
        f"MTJ `{device}`: delta {mtj.delta:g}, ic0 P->AP "
        f"{mtj.ic0_p2ap * 1e6:.0f} uA / AP->P {mtj.ic0_ap2p * 1e6:.0f} uA, tau_d "
        f"{mtj.tau_d * 1e9:g} ns ({mtj.source}). WER: exact macrospin (Fokker-Planck). "
        f"Energy from the supply (Vdd {circuit.v_supply} V, NVSim convention, bit line "
        f"{circuit.c_bitline * 1e15:g} fF); transistor sized for the current "
        f"({circuit.derating} x {circuit.i_on / 1e3:g} mA/um); 1T1R area {AREA_SLOPE:g} W/F "
        f"+ {AREA_INTERCEPT_F2:g} F^2.",
        "",
        "![WER vs pulse width](wer_vs_width.png) "
        "![energy vs target WER](energy_vs_target_wer.png)",
        "",
        f"Calibration to measured switching (preset `{CALIBRATED_PRESET}`): the model "
        "fitted to the switching probability against pulse duration "
        f"({_citation(PULSE_CURVE.source)}) reproduces all {result.fit_points} points within "
        f"{result.fit_error:.3f}; the probability against amplitude "
        f"({_citation(AMPLITUDE_CURVE.source)}, not fitted) is "
        f"matched at its median but rises faster than the macrospin model (up to "
        f"{result.amplitude_error:.2f} apart).",
        "",
        "![calibration](calibration.png)",
        "",
        f"P->AP (the harder direction), {width * 1e9:g} ns pulses:",
        "",
        "| target WER | current (uA) | energy per bit (pJ) | transistor width (nm) "
        "| cell area (F^2) |",
        "|---|---|---|---|---|",
        *rows,
        "",
        f"### Accuracy vs write energy ({energy_model})",
        "",
        "![accuracy vs write energy](accuracy_vs_energy.png)",
        "",
        f"Every weight is written once with one pulse ({width * 1e9:g} ns, the same current "
        f"in both directions) into an array of {sweep.prior} prior content; a cell that must "
        f"switch fails with its direction's WER. {sweep.config.n_draws} draws per current, "
        "full test set.",
        "",
        f"Energy at which the accuracy drop reaches {drop:g} point: "
        f"{marked * 1e12:.3f} pJ per bit" if marked else
        f"The {drop:g}-point drop was not reached.",
        f"(vs {strong.energy * 1e12:.3f} pJ for WER {strong.wer:.0e} at {width * 1e9:g} ns: "
        f"{saving} less).",
        "",
        "| current (uA) | energy per bit (pJ) | WER AP->P | WER P->AP | accuracy (%) "
        "| 95 % CI (%) |",
        "|---|---|---|---|---|---|",
        *table,
    ]
