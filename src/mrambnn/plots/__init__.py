"""Figures for papers: they render results, they compute nothing (matplotlib's object
API, one style: `mrambnn.plots.style`)."""

from mrambnn.plots.accuracy import (
    plot_accuracy_vs_ber,
    plot_accuracy_vs_energy,
    plot_energy_sweeps,
)
from mrambnn.plots.budget import plot_budget_breakdown, plot_budget_trends
from mrambnn.plots.codesign import plot_codesign
from mrambnn.plots.lifetime import plot_lifetime, plot_lifetime_grid
from mrambnn.plots.physics import plot_calibration, plot_energy_vs_target_wer, plot_wer_vs_width
from mrambnn.plots.variability import plot_cell_wer_spread

__all__ = [
    "plot_accuracy_vs_ber",
    "plot_accuracy_vs_energy",
    "plot_budget_breakdown",
    "plot_budget_trends",
    "plot_calibration",
    "plot_cell_wer_spread",
    "plot_codesign",
    "plot_energy_sweeps",
    "plot_energy_vs_target_wer",
    "plot_lifetime",
    "plot_lifetime_grid",
    "plot_wer_vs_width",
]
