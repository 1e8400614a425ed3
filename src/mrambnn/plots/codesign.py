"""Co-design: energy per inference against delta for each use, one panel per network
(`mrambnn.experiments.codesign`)."""

from collections.abc import Mapping, Sequence
from pathlib import Path

from mrambnn.experiments.codesign import CodesignResult
from mrambnn.plots.style import new_figure, save

__all__ = ["plot_codesign"]


def plot_codesign(results: Mapping[str, Sequence[CodesignResult]], path: Path, *,
                  device: str = "") -> Path:
    """Per network: energy per inference (J, log axis) of the design picked at each
    delta, one line per use (solid: total; dotted: its write and refresh part); the
    optimum circled; ``device`` (whose delta varies) in each panel's title."""
    names = list(results)
    if not names:
        raise ValueError("no co-design results to plot")
    with new_figure(4.2 * len(names), 3.2, ncols=len(names), squeeze=False) as (fig, axes):
        for ax, name in zip(axes[0], names, strict=True):
            for index, result in enumerate(results[name]):
                color = f"C{index}"
                deltas = [d.delta for d in result.per_delta]
                ax.plot(deltas, [d.total for d in result.per_delta], marker="o", ms=3,
                        color=color, label=f"{result.use.name}: total")
                ax.plot(deltas, [max(d.write, 1e-30) for d in result.per_delta], ls=":",
                        color=color, label=f"{result.use.name}: write + refresh")
                ax.plot([result.best.delta], [result.best.total], marker="o", ms=9,
                        mfc="none", color=color)
            ax.set_yscale("log")
            ax.set_ylim(bottom=max(1e-15, min(min(d.total for d in r.per_delta)
                                              for r in results[name]) * 1e-4))
            ax.set_xlabel("thermal stability factor delta")
            ax.set_ylabel("energy per inference (J)")
            ax.set_title(f"{name}{' on ' + device + ' (delta varied)' if device else ''}",
                         fontsize=7)
            ax.legend(loc="upper right")
        return save(fig, path)
