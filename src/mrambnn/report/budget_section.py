"""The budget section of the report: ECC + strong pulses against no ECC + weak pulses."""

from pathlib import Path

from mrambnn.experiments.budget_study import PAPER_ENERGY_RATIO, BudgetResult
from mrambnn.experiments.budget_table import OPTIMIZER_WIDTHS, BudgetRow
from mrambnn.memory.cost import SOURCES, CostConfig
from mrambnn.plots import plot_budget_breakdown, plot_budget_trends

__all__ = ["budget_section"]

READ_HEAVY = 100  # the workload (inferences per write) the text quotes beside the largest


def _area_verdict(ratio: float) -> str:
    if ratio > 1.005:
        return "the energy optimum pays in area: a larger current, a wider transistor"
    if ratio < 0.995:
        return "smaller as well as cheaper"
    return "the same area"


def _row(label: str, row: BudgetRow) -> str:
    r = row.as_dict()
    return (f"| {label} | {r['raw_ber']:.2e} | {r['current_ap2p'] * 1e6:.0f} / "
            f"{r['current_p2ap'] * 1e6:.0f} | {r['width_ap2p'] * 1e9:.1f} / "
            f"{r['width_p2ap'] * 1e9:.1f} | {r['write_energy_per_bit'] * 1e12:.3f} | "
            f"{r['cell_area_f2']:.1f} | {r['write'] * 1e6:.3f} | {r['read'] * 1e6:.3f} | "
            f"{(r['encode'] + r['decode']) * 1e6:.3f} | {r['compute'] * 1e6:.3f} | "
            f"{r['total_energy'] * 1e6:.3f} | {r['total_area'] * 1e6:.4f} |")


def _source_lines(cost: CostConfig) -> list[str]:
    """Each cost parameter with its source; an overridden one says so, with the default
    and the default's source."""
    default = CostConfig()
    lines = []
    for key, text in SOURCES.items():
        value, usual = getattr(cost, key), getattr(default, key)
        if value == usual:
            lines.append(f"- `{key}` = {value:g}: {text}")
        else:
            lines.append(f"- `{key}` = {value:g}: given for this run (default {usual:g}: "
                         f"{text})")
    return lines


def budget_section(result: BudgetResult, out_dir: Path, name: str, *,
                   sweep_where: str = "the BER sweep above", device: str = "") -> list[str]:
    """Markdown lines (and two figures in ``out_dir``) for a budget result of the model
    ``name`` on ``device``.

    Args:
        sweep_where: where the reader finds the BER sweep the tolerable BER comes from.
    """
    plot_budget_breakdown(result, out_dir / f"budget-{name}.png", model=name, device=device)
    plot_budget_trends(result, out_dir / f"budget-trends-{name}.png", model=name,
                       device=device)
    table, cost, best = result.table, result.cost, result.optimum
    tolerance = 100 * result.config.tolerance
    work = {round(p.value): p for p in result.workload}
    read_heavy = result.workload[-1]
    sources = _source_lines(cost)
    bnn = table.rows["none (weak, BNN)"]
    return [
        "",
        f"## System budget: ECC + strong pulses vs no ECC + weak pulses ({name})",
        "",
        f"BNN memory: no code, programmed at the largest raw BER whose mean accuracy stays "
        f"within {tolerance:g} point of clean (from {sweep_where}, interpolated in "
        f"log BER): **{result.tolerable_ber:.2e}**. Conventional memories: each code "
        f"programmed at the raw BER giving an uncorrectable word rate of "
        f"{table.target:g}. Pulses of {cost.pulse_width * 1e9:g} ns (lengthened at "
        "the supply-limited current where that is not enough); each direction at WER = raw "
        f"BER / {cost.switching_fraction:g} (fraction of cells that must switch); the "
        "transistor, so the cell, is sized for the larger current. Energies per deployment: "
        f"one write of the {result.model.get('n_weights', '?')} weights plus "
        f"{cost.reads_per_write:g} inference(s).",
        "",
        "| configuration | raw BER | current AP->P / P->AP (uA) | width (ns) "
        "| write energy/bit (pJ) | cell (F^2) | write (uJ) | read (uJ) | ECC logic (uJ) "
        "| compute (uJ) | total (uJ) | area (mm^2) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *[_row(k, r) for k, r in table.rows.items()],
        "",
        f"Cheapest ECC configuration: **{table.best_ecc}**. Energy ratio (it / BNN "
        f"without ECC): **{table.energy_ratio:.2f}x**; area ratio "
        f"**{table.area_ratio:.2f}x** (paper: energy savings up to {PAPER_ENERGY_RATIO:g}x).",
        f"With more inferences per write the reads dominate and the energy ratio falls: "
        f"{work.get(READ_HEAVY, read_heavy).energy_ratio:.2f}x at {READ_HEAVY}, "
        f"{read_heavy.energy_ratio:.2f}x at {read_heavy.value:g} (parity cells read "
        "on every access plus the decoder); the area ratio does not depend on the workload.",
        "",
        f"![budget breakdown](budget-{name}.png)",
        "",
        f"![budget trends](budget-trends-{name}.png)",
        "",
        "Ratio against delta (ic0 scaled with delta): "
        + ", ".join(f"delta {p.value:g}: {p.energy_ratio:.2f}x energy, "
                    f"{p.area_ratio:.2f}x area" for p in result.delta) + ".",
        "",
        f"Iso-accuracy optimum (lowest energy over codes and pulse widths "
        f"{min(OPTIMIZER_WIDTHS) * 1e9:g}-{max(OPTIMIZER_WIDTHS) * 1e9:g} ns whose residual "
        f"BER is at most {result.tolerable_ber:.2e}): code **{best.cost.code}**, raw BER "
        f"{best.pulse.raw_ber:.2e}, widths {best.pulse.widths[0] * 1e9:.1f} / "
        f"{best.pulse.widths[1] * 1e9:.1f} ns, currents {best.pulse.currents[0] * 1e6:.0f} / "
        f"{best.pulse.currents[1] * 1e6:.0f} uA, {best.cost.total_energy * 1e6:.3f} uJ per "
        f"deployment, cell {best.pulse.cell_area_f2:.1f} F^2 against the BNN memory's "
        f"{bnn.pulse.cell_area_f2:.1f} F^2 at {cost.pulse_width * 1e9:g} ns: "
        f"{best.cost.total_area / bnn.cost.total_area:.2f}x its total area "
        f"({_area_verdict(best.cost.total_area / bnn.cost.total_area)}).",
        "",
        "Cost parameters (override any of them with `mrambnn budget --config FILE.toml`):",
        "",
        *sources,
    ]
