"""The report's sections beyond uniform errors: per-layer sensitivity, selective protection
and error-aware training (`mrambnn.experiments.layer_study`)."""

from pathlib import Path

from mrambnn.experiments.layer_study import ErrorAwarePair, LayerStudyResult
from mrambnn.experiments.protection import Assignment, ProtectionResult
from mrambnn.experiments.sensitivity import SensitivityResult
from mrambnn.plots.sensitivity import plot_error_aware, plot_sensitivity
from mrambnn.report.formatting import percent_interval

__all__ = ["layer_sections"]


def _ber(value: float | None, top: float) -> str:
    if value is None:
        return "below the grid"
    return f">= {top:g}" if value >= top else f"{value:.2g}"


def _sensitivity(name: str, result: SensitivityResult, tolerance: float, out_dir: Path
                 ) -> list[str]:
    figure = f"sensitivity-{name}.png"
    plot_sensitivity(result, out_dir / figure, tolerance=tolerance)
    top = max(p.ber for p in result.uniform.points)
    rows = [f"| {r['layer']} | {r['kind']} | {r['n_weights']:,} | {100 * r['share']:.1f} | "
            f"{_ber(r['tolerable_alone'], top)} | {_ber(r['tolerable_all_but'], top)} |"
            for r in result.table(tolerance)]
    config = result.uniform.config
    return ["", f"### {name}", "", f"![per-layer sensitivity of {name}]({figure})", "",
            f"Clean accuracy {100 * result.clean_accuracy:.2f} % on the first "
            f"{config.n_images or 'all'} test images; {config.n_draws} draws per point. "
            f"Tolerable BER: where the mean accuracy falls {100 * tolerance:g} points below "
            "clean (log-interpolated; '>=' where the largest BER swept does not get there).",
            "", "| layer | kind | weights | share of weights and write energy (%) | "
            "tolerable BER, alone | tolerable BER, every other layer exposed |",
            "|---|---|---|---|---|---|", *rows]


def _assignment_row(title: str, a: Assignment | None) -> str:
    if a is None:
        return f"| {title} | no verified assignment | | | | |"
    c = a.check
    return (f"| {title} | {' / '.join(a.labels)} | {1e6 * a.energy:.3f} | "
            f"{1e6 * a.write_energy:.4f} | {1e6 * a.area:.4f} | {100 * c.mean:.2f} "
            f"{percent_interval(c.low, c.high)} |")


def _protection(name: str, result: ProtectionResult) -> list[str]:
    ratios = result.ratios()
    tried = len(result.per_layer_rounds) + len(result.uniform_rounds)
    summary = ("" if ratios is None else
               f"The best uniform assignment costs {ratios[0]:.3f}x the system energy, "
               f"{ratios[2]:.3f}x the write energy and {ratios[1]:.3f}x the area of the "
               "per-layer one.")
    return ["", f"### {name}", "",
            f"Clean accuracy {100 * result.clean_accuracy:.2f} % on the first "
            f"{result.n_images} test images; each assignment checked with {result.n_draws} "
            f"draws ({tried} checks in all, a rejected one followed by a smaller budget of "
            "the additive model). Energies per deployment (one write, one inference).",
            "", "| assignment | option per layer (first to last) | system energy (uJ) | "
            "write energy (uJ) | area (mm^2) | measured drop (points), 95 % CI |",
            "|---|---|---|---|---|---|",
            _assignment_row("per layer (optimal)", result.per_layer),
            _assignment_row("best uniform", result.uniform), "", summary]


def _error_aware(pairs: tuple[ErrorAwarePair, ...], out_dir: Path) -> list[str]:
    if not pairs:
        return []
    plot_error_aware([(p.standard, p.standard_sweep, p.aware_sweep) for p in pairs],
                     out_dir / "error_aware.png")
    config = pairs[0].standard_sweep.config
    rows = []
    for p in pairs:
        top = max(config.bers)
        standard, aware = p.tolerable("standard"), p.tolerable("aware")
        clean_s = p.standard_sweep.point(0.0).summary().mean
        clean_a = p.aware_sweep.point(0.0).summary().mean
        gain = (f"{aware / standard:.1f}x" if standard and aware and aware < top
                else "n/a")
        rows.append(f"| {p.standard} | {100 * clean_s:.2f} | {100 * clean_a:.2f} | "
                    f"{_ber(standard, top)} | {_ber(aware, top)} | {gain} |")
    drop = pairs[0].drop
    return ["", "## Error-aware training", "", "![standard vs error-aware](error_aware.png)",
            "", "Each shipped network against its twin fine-tuned from it with weight flips "
            "injected in every training step (the binary weights as stored, a fresh "
            "pattern per step, the straight-through estimator unchanged; commands in the "
            f"models' metadata). First {config.n_images or 'all'} test images, "
            f"{config.n_draws} draws per point; tolerable BER where each network's mean "
            f"accuracy falls {100 * drop:g} point below its own clean accuracy.", "",
            "| network | clean, standard (%) | clean, error-aware (%) | tolerable BER, "
            "standard | tolerable BER, error-aware | gain |", "|---|---|---|---|---|---|",
            *rows]


def layer_sections(result: LayerStudyResult, out_dir: Path) -> list[str]:
    """The three sections as Markdown lines, their figures written into ``out_dir``."""
    config = result.config
    lines = ["", "## Which layers need strong writes: per-layer sensitivity", "",
             "Each layer's weights exposed alone (the others stored exactly), and every "
             "layer but that one exposed; the dashed curve exposes every layer."]
    for name, sensitivity in result.sensitivity.items():
        if name in config.sensitivity_models:
            lines += _sensitivity(name, sensitivity, config.tolerance, out_dir)
    if result.protection:
        lines += ["", "## Selective protection: one write condition per layer", "",
                  "Options per layer: no code with a weak pulse at a raw BER of 1e-6 to 0.1, "
                  "or the strong pulse (uncorrectable word rate 1e-9) without code or under "
                  "each ECC code; costs from the system budget's model per layer, predicted "
                  "drops from the layer's own sensitivity curve (additive), solved exactly, "
                  "then checked by Monte Carlo of the whole network; the best uniform "
                  "option goes through the same check. Tolerance "
                  f"{100 * config.tolerance:g} points (upper end of the CI)."]
        for name, protection in result.protection.items():
            lines += _protection(name, protection)
    lines += _error_aware(result.error_aware, out_dir)
    lines += [f"- {name}: NOT RUN here ({why})." for name, why in result.skipped.items()]
    return lines
