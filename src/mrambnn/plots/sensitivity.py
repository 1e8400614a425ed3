"""Figures of beyond-uniform errors: per-layer sensitivity, and error-aware training."""

from collections.abc import Sequence
from pathlib import Path

from mrambnn.experiments import SweepResult
from mrambnn.experiments.sensitivity import SensitivityResult
from mrambnn.plots.style import new_figure, save

__all__ = ["plot_error_aware", "plot_sensitivity"]


def _drop_curve(ax, sweep: SweepResult, clean: float, label: str, **style) -> None:  # type: ignore[no-untyped-def]
    rows = sorted((r for r in sweep.to_dict()["points"] if r["ber"] > 0),
                  key=lambda r: r["ber"])
    x = [r["ber"] for r in rows]
    line, = ax.plot(x, [100 * (clean - r["mean"]) for r in rows], marker="o", ms=2.5,
                    label=label, **style)
    if all(r["ci_low"] is not None for r in rows):
        ax.fill_between(x, [100 * (clean - r["ci_high"]) for r in rows],
                        [100 * (clean - r["ci_low"]) for r in rows],
                        color=line.get_color(), alpha=0.15, lw=0)


def plot_sensitivity(result: SensitivityResult, path: Path, *, tolerance: float,
                     title: str = "") -> Path:
    """Two panels against the raw BER (log axis): the accuracy drop (points) with only
    each layer exposed, and with every layer but that one exposed; the uniform curve
    (every layer) dashed in both; the tolerance dotted. Writes ``path``, returns it."""
    clean = result.clean_accuracy
    config = result.uniform.config
    with new_figure(7.0, 3.0, ncols=2, sharey=True) as (fig, axes):
        for ax, which in zip(axes, ("alone", "all_but"), strict=True):
            for layer in result.layers:
                sweep = layer.alone if which == "alone" else layer.all_but
                if sweep is not None:
                    _drop_curve(ax, sweep, clean, f"layer {layer.index} ({layer.kind}, "
                                f"{100 * layer.share:.1f} % of weights)")
            _drop_curve(ax, result.uniform, clean, "every layer", color="black", ls="--")
            ax.axhline(100 * tolerance, color="grey", ls=":", lw=0.8)
            ax.set_xscale("log")
            ax.set_yscale("symlog", linthresh=0.5)
            ax.set_xlabel("weight bit error rate (raw BER)")
            ax.set_title("only this layer exposed" if which == "alone"
                         else "every layer but this one exposed")
        axes[0].set_ylabel("accuracy drop (points)")
        axes[1].legend(title=f"mean, {int(100 * config.confidence)} % CI, "
                       f"{config.n_draws} draws"
                       + (f", {config.n_images} images" if config.n_images else ""),
                       title_fontsize=6, fontsize=5)
        fig.suptitle(title or f"{result.model}: per-layer sensitivity", fontsize=8)
        return save(fig, path)


def plot_error_aware(pairs: Sequence[tuple[str, SweepResult, SweepResult]], path: Path,
                     *, title: str = "Standard vs error-aware training") -> Path:
    """Accuracy (%) against the raw BER for each (label, standard, error-aware) pair:
    standard solid, error-aware dashed, one colour per pair. Writes ``path``."""
    with new_figure(4.6, 3.2) as (fig, ax):
        for label, standard, aware in pairs:
            color = None
            for sweep, kind, ls in ((standard, "standard", "-"), (aware, "error-aware", "--")):
                rows = sorted((r for r in sweep.to_dict()["points"] if r["ber"] > 0),
                              key=lambda r: r["ber"])
                line, = ax.plot([r["ber"] for r in rows], [100 * r["mean"] for r in rows],
                                marker="o", ms=2.5, ls=ls, color=color,
                                label=f"{label}, {kind}")
                color = line.get_color()
        ax.set_xscale("log")
        ax.set_xlabel("weight bit error rate (raw BER)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(title)
        ax.legend(fontsize=5)
        return save(fig, path)
