"""`mrambnn plot` and `mrambnn table`: figures and tidy tables from result files, BER
sweeps (accuracy vs BER) or energy sweeps (accuracy vs write energy); each curve labelled
so that sweeps can be told apart."""

import argparse
from pathlib import Path
from typing import Any

from mrambnn.experiments import SweepResult
from mrambnn.experiments.energy_sweep import EnergySweepResult
from mrambnn.experiments.outputs import check_writable
from mrambnn.experiments.results import read_json

__all__ = ["cmd_plot", "cmd_table", "default_labels"]


def _describe(result: SweepResult | EnergySweepResult) -> list[str]:
    """What sets a sweep apart beyond its model: code, exposed layers, time after
    writing, device, spread, test subset."""
    config = result.config
    parts = []
    if isinstance(result, SweepResult):
        if config.code != "none":
            parts.append(config.code)
        if config.layers is not None:
            parts.append("layers " + ",".join(str(i) for i in config.layers))
        if config.after is not None:
            after = config.after
            delta = f" delta {after.delta:g}" if after.delta is not None else ""
            parts.append(f"{after.time:g} s after writing{delta}"
                         + (f", spread {after.spread}" if after.spread != "none" else ""))
    else:
        parts.append(f"{result.config.width * 1e9:g} ns, delta {result.mtj.delta:g}")
        if result.config.spread != "none":
            parts.append(f"spread {result.config.spread}")
    if config.n_images:
        parts.append(f"{config.n_images} images")
    return parts


def default_labels(results: list[Any], paths: list[Path]) -> list[str]:
    """A label per result: its model (architecture, else the file's name) and what sets
    it apart; the file's name is added where two labels would still be the same."""
    labels = []
    for result, path in zip(results, paths, strict=True):
        model = result.model.get("architecture") or result.model.get("source") or path.stem
        labels.append(", ".join([str(model), *_describe(result)]))
    if len(set(labels)) < len(labels):
        labels = [f"{label} ({path.name})" for label, path in zip(labels, paths, strict=True)]
    return labels


def _read(path: Path) -> SweepResult | EnergySweepResult:
    data = read_json(path)
    kind = data.get("kind") if isinstance(data, dict) else None
    if kind == "energy_sweep":
        return EnergySweepResult.from_dict(data)
    if kind == "ber_sweep":
        return SweepResult.from_dict(data)
    raise ValueError(f"{path} is not a BER sweep or energy sweep result file")


def cmd_plot(args: argparse.Namespace) -> None:
    from mrambnn.plots import plot_accuracy_vs_ber, plot_energy_sweeps

    check_writable(Path(args.out).parent)
    paths = [Path(p) for p in args.results]
    results = [_read(p) for p in paths]
    kinds = {type(r) for r in results}
    if len(kinds) > 1:
        raise ValueError("plot BER sweeps and energy sweeps in separate figures")
    if args.label and len(args.label) != len(results):
        raise ValueError(f"give one --label per result file ({len(results)}), got "
                         f"{len(args.label)}")
    labels = list(args.label) if args.label else default_labels(results, paths)
    if isinstance(results[0], EnergySweepResult):
        print(plot_energy_sweeps(results, labels, args.out))  # type: ignore[arg-type]
    else:
        print(plot_accuracy_vs_ber(results, labels, args.out))  # type: ignore[arg-type]


def cmd_table(args: argparse.Namespace) -> None:
    from mrambnn.experiments.tidy import write_tidy

    check_writable(Path(args.out).parent)
    n_rows = write_tidy([_read(Path(p)) for p in args.results], args.out)
    print(f"{n_rows} rows (one per draw) -> {args.out}")
