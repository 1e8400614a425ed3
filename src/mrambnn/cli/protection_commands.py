"""``mrambnn sensitivity`` (which layers need strong writes) and ``mrambnn protect`` (the
cheapest write condition per layer at a tolerated accuracy drop)."""

import argparse
import json

from mrambnn.cli.arguments import bar
from mrambnn.datasets import Dataset, load_test_set
from mrambnn.engine import PackedNet
from mrambnn.experiments import SweepConfig, write_atomic
from mrambnn.experiments.budget_table import tolerable_ber
from mrambnn.experiments.main_job import model_label
from mrambnn.experiments.outputs import check_writable
from mrambnn.experiments.protection import ProtectionResult, protect
from mrambnn.experiments.sensitivity import SensitivityResult, run_sensitivity
from mrambnn.models import dataset_of, load_model
from mrambnn.physics.device_file import resolve_device

__all__ = ["cmd_protect", "cmd_sensitivity", "protection_lines", "sensitivity_lines"]


def _sensitivity(args: argparse.Namespace
                 ) -> tuple[SensitivityResult, PackedNet, Dataset, str]:
    """The per-layer sweeps the arguments ask for (resumed from ``--out``)."""
    net = load_model(args.model)
    data = load_test_set(dataset_of(net, args.dataset, where=args.model), args.data_dir)
    name = model_label(args.model)
    bers = tuple(sorted({0.0, *args.bers}))
    config = SweepConfig(bers=bers, n_draws=args.draws, seed=args.seed,
                         n_images=args.n_images)
    check_writable(args.out)
    result = run_sensitivity(net, data.x_test, data.y_test, config, out_dir=args.out,
                             name=name, workers=args.workers,
                             progress=lambda label, total: bar(label, total))
    return result, net, data, name


def sensitivity_lines(result: SensitivityResult, tolerance: float) -> list[str]:
    """The per-layer table as text lines (tolerable BERs at ``tolerance``)."""
    top = max(p.ber for p in result.uniform.points)

    def ber(value: float | None) -> str:
        if value is None:
            return "below the grid"
        return f">= {value:.2g}" if value >= top else f"{value:.2g}"

    lines = [f"{result.model}: clean accuracy {100 * result.clean_accuracy:.2f} %; tolerable "
             f"BER at a drop of {100 * tolerance:g} points"]
    for row in result.table(tolerance):
        lines.append(f"  layer {row['layer']} ({row['kind']}, {row['n_weights']:,} weights, "
                     f"{100 * row['share']:.1f} %): alone {ber(row['tolerable_alone'])}, "
                     f"every other layer exposed {ber(row['tolerable_all_but'])}")
    uniform = result.uniform.to_dict()["points"]
    try:
        lines.append(f"  every layer: {ber(tolerable_ber(uniform, tolerance))}")
    except ValueError:
        lines.append("  every layer: below the grid")
    return lines


def cmd_sensitivity(args: argparse.Namespace) -> None:
    result, _net, _data, name = _sensitivity(args)
    tolerance = args.tolerance / 100
    print("\n".join(sensitivity_lines(result, tolerance)))
    table = args.out / f"sensitivity-{name}.json"
    write_atomic(table, json.dumps({"kind": "sensitivity", "model": name,
                                    "tolerance": tolerance,
                                    "clean_accuracy": result.clean_accuracy,
                                    "layers": result.table(tolerance)}, indent=1))
    figure = args.out / f"sensitivity-{name}.png"
    try:
        from mrambnn.plots.sensitivity import plot_sensitivity
    except ImportError:  # matplotlib is optional: the JSON files hold every number
        print(f"-> {table} and the sweeps in {args.out}")
        return
    plot_sensitivity(result, figure, tolerance=tolerance)
    print(f"-> {table}, {figure} and the sweeps in {args.out}")


def protection_lines(result: ProtectionResult) -> list[str]:
    """The verified assignments and their ratios as text lines."""
    lines = [f"{result.model}: clean {100 * result.clean_accuracy:.2f} % on "
             f"{result.n_images} images; tolerance {100 * result.tolerance:g} points, "
             f"{result.n_draws} draws per check, objective {result.objective}"]
    for title, rounds in (("per layer", result.per_layer_rounds),
                          ("uniform", result.uniform_rounds)):
        for i, a in enumerate(rounds):
            c = a.check
            lines.append(f"  {title} round {i + 1}: {' | '.join(a.labels)}; predicted drop "
                         f"{100 * a.predicted_drop:.2f}, measured {100 * c.mean:.2f} "
                         f"[{100 * c.low:.2f}, {100 * c.high:.2f}] points; energy "
                         f"{1e6 * a.energy:.3f} uJ, area {1e6 * a.area:.4f} mm^2"
                         f" -> {'passes' if a.passed else 'fails'}")
    ratios = result.ratios()
    if ratios is None:
        lines.append("  no verified assignment on one side: widen the options or tolerance")
    else:
        lines.append(f"  best uniform / per-layer: system energy {ratios[0]:.3f}x, area "
                     f"{ratios[1]:.3f}x, write energy {ratios[2]:.3f}x")
    return lines


def cmd_protect(args: argparse.Namespace) -> None:
    sensitivity, net, data, name = _sensitivity(args)
    device = resolve_device(args.device)
    n = args.check_images or len(data.x_test)
    result = protect(net, data.x_test[:n], data.y_test[:n], sensitivity, mtj=device.mtj,
                     tolerance=args.tolerance / 100, objective=args.objective,
                     n_draws=args.check_draws, seed=args.seed, workers=args.workers,
                     progress=lambda label, total: bar(label, total))
    out = args.out / f"protection-{name}.json"
    write_atomic(out, json.dumps({**result.to_dict(), "device": device.name}, indent=1))
    print("\n".join(protection_lines(result)))
    print(f"-> {out}")
