"""Figures of the system budget: energy/area breakdown and how the ratio moves."""

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

__all__ = ["plot_budget_breakdown", "plot_budget_trends"]

_STYLE = {"figure.dpi": 150, "font.size": 8, "axes.grid": True, "grid.alpha": 0.3}
_PARTS = ("write", "encode", "read", "decode", "compute")


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return Path(path)


def plot_budget_breakdown(result: dict[str, Any], path: Path) -> Path:
    """Stacked energy per deployment (uJ) and area (mm^2) of every configuration of a
    `mrambnn.experiments.budget_run.run_budget` result."""
    rows = result["table"]["rows"]
    labels = list(rows)
    y = np.arange(len(labels))
    with plt.rc_context(_STYLE):
        fig, (energy_ax, area_ax) = plt.subplots(1, 2, figsize=(7.2, 2.9), sharey=True)
        left = np.zeros(len(labels))
        for part in _PARTS:
            values = np.array([rows[k][part] for k in labels]) * 1e6
            energy_ax.barh(y, values, left=left, label=part)
            left += values
        energy_ax.set_yticks(y, labels)
        energy_ax.set_xlabel("energy per deployment (uJ)")
        reads = result["cost"]["reads_per_write"]
        energy_ax.set_title(f"one write + {reads:g} inference(s)")
        energy_ax.legend(fontsize=6, loc="lower right")
        cells = np.array([rows[k]["cell_area"] for k in labels]) * 1e6
        logic = np.array([rows[k]["logic_area"] for k in labels]) * 1e6
        area_ax.barh(y, cells, label="cells")
        area_ax.barh(y, logic, left=cells, label="ECC logic")
        area_ax.set_xlabel("area (mm$^2$)")
        area_ax.legend(fontsize=6, loc="lower right")
        return _save(fig, path)


def plot_budget_trends(result: dict[str, Any], path: Path) -> Path:
    """Energy and area ratio (cheapest ECC / BNN without ECC) against the workload
    (inferences per write) and against the thermal stability delta."""
    with plt.rc_context(_STYLE):
        fig, (work_ax, delta_ax) = plt.subplots(1, 2, figsize=(7.2, 2.8), sharey=True)
        for ax, key, xlabel in ((work_ax, "workload", "inferences per write"),
                                (delta_ax, "delta", "thermal stability delta")):
            rows = result[key]
            x = [r["value"] for r in rows]
            ax.plot(x, [r["energy_ratio"] for r in rows], marker="o", ms=3, label="energy")
            ax.plot(x, [r["area_ratio"] for r in rows], marker="s", ms=3, label="area")
            ax.axhline(2.0, color="grey", ls=":", lw=0.8, label="paper: up to 2x")
            ax.axhline(1.0, color="black", lw=0.6)
            ax.set_xlabel(xlabel)
        work_ax.set_xscale("log")
        work_ax.set_ylabel("ECC + strong / no ECC + weak")
        work_ax.legend(fontsize=6)
        return _save(fig, path)
