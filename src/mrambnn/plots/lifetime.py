"""Accuracy against time since writing, one curve per delta (`mrambnn.experiments.lifetime`)."""

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mrambnn.experiments.lifetime import YEAR, LifetimeCurve
from mrambnn.plots.style import new_figure, save

__all__ = ["plot_lifetime", "plot_lifetime_grid"]


def _draw(ax: Any, curves: Sequence[LifetimeCurve], drop: float) -> None:
    for curve in curves:
        summaries = [curve.summary(i) for i in range(len(curve.times))]
        line, = ax.plot(curve.times, [100 * s.mean for s in summaries], marker="o", ms=2,
                        label=f"delta {curve.delta:g}")
        ax.fill_between(curve.times, [100 * s.low for s in summaries],
                        [100 * s.high for s in summaries], color=line.get_color(),
                        alpha=0.2, lw=0)
    if curves:
        clean = 100 * curves[0].clean
        ax.axhline(clean, color="k", ls="--", lw=0.8, label="written, no error")
        ax.axhline(clean - 100 * drop, color="gray", ls=":", lw=0.8,
                   label=f"{100 * drop:g} point below")
    for mark, text in ((24 * 3600.0, "1 day"), (10 * YEAR, "10 years")):
        ax.axvline(mark, color="gray", lw=0.6)
        ax.text(mark, 0.02, f" {text}", transform=ax.get_xaxis_transform(), fontsize=6,
                color="gray")
    ax.set_xscale("log")
    ax.set_xlabel("time since writing (s)")
    ax.set_ylabel("test accuracy (%)")
    ax.legend(title="mean, 95 % CI", title_fontsize=6, loc="lower left")


def plot_lifetime(curves: Sequence[LifetimeCurve], path: Path, *, model: str, device: str,
                  spread: str, drop: float = 0.005) -> Path:
    """Mean accuracy (%) with its 95 % band against time (log axis, s) for each delta; the
    clean accuracy and the tolerated drop dashed, marks at 1 day and 10 years. Names the
    model, the device and the spread it shows."""
    with new_figure(4.6, 3.2) as (fig, ax):
        _draw(ax, curves, drop)
        ax.set_title(f"Retention: {model}, {device}, spread {spread}")
        return save(fig, path)


def plot_lifetime_grid(curves: Mapping[str, Sequence[LifetimeCurve]], path: Path, *,
                       device: str, spread: str, drop: float = 0.005) -> Path:
    """`plot_lifetime` of several models side by side, two panels a row."""
    names = list(curves)
    if not names:
        raise ValueError("no curves to plot")
    rows = (len(names) + 1) // 2
    columns = min(2, len(names))
    with new_figure(4.2 * columns, 3.0 * rows, nrows=rows, ncols=columns,
                    squeeze=False) as (fig, axes):
        for index, name in enumerate(names):
            ax = axes[index // 2][index % 2]
            _draw(ax, curves[name], drop)
            ax.set_title(f"{name}: {device}, spread {spread}", fontsize=7)
        for index in range(len(names), rows * columns):
            axes[index // 2][index % 2].set_visible(False)
        return save(fig, path)
