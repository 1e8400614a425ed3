"""Figures of the system budget: energy/area breakdown and how the ratio moves."""

from pathlib import Path

import numpy as np

from mrambnn.experiments.budget_study import PAPER_ENERGY_RATIO, BudgetResult
from mrambnn.plots.style import new_figure, save

__all__ = ["plot_budget_breakdown", "plot_budget_trends"]

_PARTS = ("write", "encode", "read", "decode", "compute")


def plot_budget_breakdown(result: BudgetResult, path: Path, *, model: str = "",
                          device: str = "") -> Path:
    """Stacked energy per deployment (uJ) and area (mm^2) of every configuration of a
    budget (`mrambnn.experiments.budget_study.run_budget`) of ``model`` on ``device``;
    legends below the panels, each axis long enough for its longest bar."""
    rows = result.table.rows
    labels = list(rows)
    y = np.arange(len(labels))
    with new_figure(7.2, 3.4, ncols=2, sharey=True) as (fig, (energy_ax, area_ax)):
        left = np.zeros(len(labels))
        for part in _PARTS:
            values = np.array([getattr(rows[k].cost, part) for k in labels]) * 1e6
            energy_ax.barh(y, values, left=left, label=part)
            left += values
        energy_ax.set_xlim(0, 1.08 * left.max())
        energy_ax.set_yticks(y, labels)
        energy_ax.set_xlabel("energy per deployment (uJ)")
        energy_ax.set_title(f"one write + {result.cost.reads_per_write:g} inference(s)",
                            fontsize=7)
        energy_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=5,
                         fontsize=6, frameon=False)
        cells = np.array([rows[k].cost.cell_area for k in labels]) * 1e6
        logic = np.array([rows[k].cost.logic_area for k in labels]) * 1e6
        area_ax.barh(y, cells, label="cells")
        area_ax.barh(y, logic, left=cells, label="ECC logic")
        area_ax.set_xlim(0, 1.08 * (cells + logic).max())
        area_ax.set_xlabel("area (mm$^2$)")
        area_ax.set_title("cells sized for the write current", fontsize=7)
        area_ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2, fontsize=6,
                       frameon=False)
        fig.suptitle(_names("System budget", model, device), fontsize=8)
        return save(fig, path)


def _names(title: str, model: str, device: str) -> str:
    return title + (f": {model}" if model else "") + (f" on {device}" if device else "")


def plot_budget_trends(result: BudgetResult, path: Path, *, model: str = "",
                       device: str = "") -> Path:
    """Energy and area ratio (cheapest ECC / BNN without ECC) against the workload
    (inferences per write) and against the thermal stability delta, of ``model`` on
    ``device``."""
    with new_figure(7.2, 2.8, ncols=2, sharey=True) as (fig, (work_ax, delta_ax)):
        for ax, trend, xlabel in ((work_ax, result.workload, "inferences per write"),
                                  (delta_ax, result.delta, "thermal stability delta")):
            x = [p.value for p in trend]
            ax.plot(x, [p.energy_ratio for p in trend], marker="o", ms=3, label="energy")
            ax.plot(x, [p.area_ratio for p in trend], marker="s", ms=3, label="area")
            ax.axhline(PAPER_ENERGY_RATIO, color="grey", ls=":", lw=0.8,
                       label=f"paper: up to {PAPER_ENERGY_RATIO:g}x")
            ax.axhline(1.0, color="black", lw=0.6)
            ax.set_xlabel(xlabel)
        work_ax.set_xscale("log")
        work_ax.set_ylabel("ECC + strong / no ECC + weak")
        work_ax.legend(fontsize=6)
        fig.suptitle(_names("Budget ratios", model, device), fontsize=8)
        return save(fig, path)
