"""The device sections of the report: variability, retention, and the co-design of
delta, pulse and refresh (`mrambnn.experiments.device_study`)."""

from pathlib import Path

import numpy as np

from mrambnn.experiments.codesign import CodesignResult
from mrambnn.experiments.device_study import DeviceStudyResult
from mrambnn.experiments.main_job import ENERGY_DROP, PhysicsResult
from mrambnn.experiments.stats import mean_interval
from mrambnn.physics.energy import current_for_energy
from mrambnn.physics.variability import SPREAD_PRESETS
from mrambnn.plots import plot_cell_wer_spread, plot_codesign, plot_lifetime, plot_lifetime_grid
from mrambnn.report.formatting import duration, percent_interval

__all__ = ["device_sections"]


def _variability(result: DeviceStudyResult, physics: PhysicsResult, out_dir: Path,
                 model: str, device: str) -> list[str]:
    config = result.config
    spread = SPREAD_PRESETS[config.spread]
    plot_cell_wer_spread(result.wer_spread, out_dir / "cell_wer_spread.png",
                         spread=config.spread, device=device)
    cells = result.wer_spread
    width = result.spread_energy.config.width
    rows = []
    for label, energy in (("none", physics.marked_energy),
                          (config.spread, result.spread_marked_energy)):
        current = (f"{current_for_energy(physics.circuit, energy=energy, width=width) * 1e6:.1f}"
                   if energy else "not reached")
        rows.append(f"| {label} | {energy * 1e15:.1f} | {current} |" if energy else
                    f"| {label} | not reached | {current} |")
    cost = ""
    if physics.marked_energy and result.spread_marked_energy:
        cost = (f"Variability costs {result.spread_marked_energy / physics.marked_energy:.3f}x "
                "the write energy (the same factor in current at this width, so in "
                "transistor width) to keep the same accuracy.")
    return [
        "",
        "## Device-to-device variability",
        "",
        f"Spread `{config.spread}`: sigma/nominal of delta {spread.delta:g}, of each ic0 "
        f"{spread.ic0:g}, of the resistance {spread.resistance:g} (Gaussian, independent; "
        f"{spread.source}). A chip is one draw of every cell, fixed over its writes; each "
        "cell's WER comes from the Fokker-Planck tables with its own delta and ic0.",
        "",
        "![per-cell WER](cell_wer_spread.png)",
        "",
        f"At {cells.current * 1e6:.1f} uA x {cells.width * 1e9:g} ns (the no-spread pulse "
        f"at the {100 * ENERGY_DROP:g}-point drop), P->AP: nominal cell WER "
        f"{cells.nominal:.2e}; over {len(cells.cell_wers):,} drawn cells median "
        f"{cells.quantile(0.5):.2e}, mean {cells.cell_wers.mean():.2e}, 99th percentile "
        f"{cells.quantile(0.99):.2e}, 99.9th {cells.quantile(0.999):.2e}. The worst cells "
        "fail far more often, and the mean WER of the array rises above the nominal one.",
        "",
        f"Write energy per bit at the {100 * ENERGY_DROP:g}-point drop ({model}, "
        f"{width * 1e9:g} ns pulses; no spread: {physics.energy_sweep.config.n_draws} draws "
        f"per current; with spread: one chip, {result.spread_energy.config.n_draws} draws "
        f"per current; {_images(config.n_images)}):",
        "",
        "| spread | energy per bit (fJ) | current (uA) |",
        "|---|---|---|",
        *rows,
        "",
        cost,
    ]


def _retention(result: DeviceStudyResult, physics: PhysicsResult, out_dir: Path,
               stored_bits: dict[str, int], device: str) -> list[str]:
    config = result.config
    lines = ["", "## Retention: accuracy vs time since writing", ""]
    if result.retention:
        plot_lifetime_grid(result.retention, out_dir / "retention.png", device=device,
                           spread="none", drop=ENERGY_DROP)
        strong = physics.strong_pulse.energy
        header = " | ".join(f"delta {d:g}" for d in config.retention_deltas)
        rows = []
        for name, curves in result.retention.items():
            intervals = [curve.refresh_interval(ENERGY_DROP) for curve in curves]
            cells = " | ".join(_refresh_cell(curve, interval, stored_bits.get(name), strong)
                               for curve, interval in zip(curves, intervals, strict=True))
            rows.append(f"| {name} | {cells} |")
        lines += [
            "Without spread and without reads, retention flips every stored bit "
            "independently with probability (1 - exp(-2kt))/2, k = e^-delta / tau0 "
            f"({physics.mtj.tau0 * 1e9:g} ns): at the time where that equals a swept BER the "
            "stored weights are distributed exactly as in that BER's draws, so each curve "
            "below is the BER sweep's measured points moved to their times (no new draws).",
            "",
            "![retention](retention.png)",
            "",
            f"Refresh interval (accuracy within {100 * ENERGY_DROP:g} point of clean, "
            "log-interpolated) and the energy per hour of refreshing every weight with the "
            f"strong pulse (WER {physics.strong_pulse.wer:.0e}, {strong * 1e12:.2f} pJ/bit); "
            "'>' where no swept point fails (a lower bound):",
            "",
            f"| model | {header} |",
            "|---|" + "---|" * len(config.retention_deltas),
            *rows,
        ]
    curves = result.spread_lifetime
    plot_lifetime(curves, out_dir / "retention_spread.png", model=config.spread_model,
                  device=device, spread=config.spread, drop=ENERGY_DROP)
    no_spread = {c.delta: c for c in result.retention.get(config.spread_model, ())}
    rows = []
    for curve in curves:
        reference = no_spread.get(curve.delta)
        without = duration(reference.refresh_interval(ENERGY_DROP)) if reference else "n/a"
        rows.append(f"| {curve.delta:g} | {without} | "
                    f"{_bounded(curve, curve.refresh_interval(ENERGY_DROP))} |")
    lifetime = config.spread_lifetime
    lines += [
        "",
        f"With spread `{config.spread}` ({config.spread_model}, one chip, each cell with its "
        f"own delta; {lifetime.n_draws} draws per time, {_images(config.n_images)}): the "
        "cells of low "
        "delta flip first, so the accuracy falls much sooner than the mean delta says.",
        "",
        "![retention with spread](retention_spread.png)",
        "",
        "| delta | refresh interval, no spread | with spread |",
        "|---|---|---|",
        *rows,
    ]
    return lines


def _images(n_images: int | None) -> str:
    return "full test set" if n_images is None else f"first {n_images} test images"


def _bounded(curve, interval: float | None) -> str:  # type: ignore[no-untyped-def]
    if interval is None:
        return f"< {duration(curve.times[0])}"
    text = duration(interval)
    return f"> {text}" if interval == curve.times[-1] else text


def _refresh_cell(curve, interval: float | None, bits: int | None,  # type: ignore
                  strong: float) -> str:
    text = _bounded(curve, interval)
    if interval is None or bits is None or interval == curve.times[-1]:
        return text
    return f"{text} ({bits * strong * 3600 / interval:.2g} J/h)"


def _codesign_rows(result: CodesignResult) -> str:
    best = result.best
    check = mean_interval(np.array(result.check), bounds=(0, 1))
    refresh = duration(best.refresh)
    return (f"| {result.use.name} | {best.delta:g} | {best.currents[1] * 1e6:.1f} x "
            f"{best.widths[1] * 1e9:.3g} | {best.write_ber:.2g} | {refresh} | "
            f"{best.writes:.3g} | {best.write:.3g} | {best.read:.3g} | {best.compute:.3g} | "
            f"{best.total:.4g} | {best.cell_area_f2:.1f} | {100 * result.clean:.2f} | "
            f"{100 * (result.clean - check.mean):.2f} "
            f"{percent_interval(result.clean - check.high, result.clean - check.low)} |")


def _check_verdict(results: tuple[CodesignResult, ...]) -> list[str]:
    """A sentence on the checks whose drop is beyond the tolerance even at the lower end
    of its interval (the tolerable BER was optimistic)."""
    over = []
    for result in results:
        check = mean_interval(np.array(result.check), bounds=(0, 1))
        if not np.isnan(check.high) and result.clean - check.high > ENERGY_DROP:
            over.append(result.use.name)
    if not over:
        return ["", f"Every check is within the tolerated {100 * ENERGY_DROP:g} point or its "
                "interval reaches it."]
    return ["", f"The check of {', '.join(over)} is beyond the tolerated "
            f"{100 * ENERGY_DROP:g} point. Two causes can do that: a check on a subset of "
            "the test images (other images than the sweep's: the same BER can cost them "
            "more or less), and the accuracy falling faster than log-linearly between the "
            "sweep's grid points, which makes the interpolated tolerable BER optimistic. "
            "A check on the whole test set and a finer BER grid around the crossing "
            "(`mrambnn sweep --bers`) tell them apart."]


def _codesign(result: DeviceStudyResult, out_dir: Path, device: str) -> list[str]:
    if not result.codesign:
        return []
    config = result.config
    plot_codesign(result.codesign, out_dir / "codesign.png", device=device)
    uses = next(iter(result.codesign.values()))
    cost = config.codesign.cost
    lines = [
        "",
        "## Co-design: delta, pulse and refresh for a use",
        "",
        "A lower delta makes writes cheaper and cells smaller (ic0 scales with delta, so "
        "the write current and the access transistor do) but the weights decay sooner: "
        "retention, and read disturb from every inference's read "
        f"({config.codesign.read_current_ratio:g} x ic0 for "
        f"{config.codesign.read_duration * 1e9:g} ns, pushing P cells to AP), so they must "
        "be rewritten more often. For each delta, the network's tolerable raw BER (its "
        f"sweep, {100 * ENERGY_DROP:g}-point drop) is split between the write and what "
        "accumulates until the next refresh; every split and pulse width is priced: energy "
        f"per inference = reads ({cost.read_energy_per_bit * 1e12:g} pJ per stored bit) + "
        f"compute ({cost.compute_energy_per_synapse * 1e15:g} fJ per synapse) + writes "
        "(the whole network, once per deployment or per refresh, over the inferences). "
        f"Designs within {100 * config.codesign.energy_slack:g} % of the lowest energy "
        "count as equal and the smallest cell among them is picked. Uses: "
        + "; ".join(f"**{r.use.name}**, {r.use.description}" for r in uses) + ".",
        "",
        "![co-design](codesign.png)",
        "",
    ]
    for name, results in result.codesign.items():
        subset = config.images_for(name)
        lines += [
            f"### {name} (tolerable raw BER {results[0].tolerable_ber:.2g})",
            "",
            "| use | delta | P->AP pulse (uA x ns) | write BER | refresh | writes | "
            "write (J) | read (J) | compute (J) | total per inference (J) | cell (F^2) | "
            "check: clean (%) | check: drop (points) [95 % CI] |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
            *[_codesign_rows(r) for r in results],
            "",
            f"Check: {config.codesign_draws} Monte Carlo draws of the optimum on "
            f"{f'the first {subset}' if subset else 'all'} test images, written with its "
            "pulse, then read and left until its refresh (the worst moment). The sweep puts "
            f"the drop at the tolerable BER at {100 * ENERGY_DROP:g} point on its own test "
            "images, interpolating between its grid points; the check measures the design's "
            "own channel (write failures, then retention and the one-sided read disturb).",
            *_check_verdict(results),
            "",
        ]
    return lines


def device_sections(result: DeviceStudyResult, physics: PhysicsResult, out_dir: Path, *,
                    stored_bits: dict[str, int], device: str) -> list[str]:
    """Markdown lines (and the figures in ``out_dir``) of the device sections.

    Args:
        stored_bits: model -> stored weight bits (the refresh energy per hour).
        device: the device's name (figure titles).
    """
    model = result.config.spread_model
    return (_variability(result, physics, out_dir, model, device)
            + _retention(result, physics, out_dir, stored_bits, device)
            + _codesign(result, out_dir, device))
