"""Device-to-device variability: the per-cell WER distribution at one pulse and the
array's mean WER against current (`mrambnn.experiments.device_study.CellWerSpread`)."""

from pathlib import Path

import numpy as np

from mrambnn.experiments.device_study import CellWerSpread
from mrambnn.plots.style import new_figure, save

__all__ = ["plot_cell_wer_spread"]


def plot_cell_wer_spread(result: CellWerSpread, path: Path, *, spread: str,
                         device: str = "") -> Path:
    """Left: histogram of log10 per-cell P->AP WER with the nominal cell's WER and the
    spread array's mean marked. Right: mean WER (both directions averaged) against write
    current, with and without spread (log axis)."""
    with new_figure(8.0, 3.0, ncols=2) as (fig, (left, right)):
        floor = 1e-30
        logs = np.log10(np.maximum(result.cell_wers, floor))
        left.hist(logs, bins=80, color="C0", alpha=0.8)
        left.axvline(np.log10(max(result.nominal, floor)), color="k", ls="--", lw=0.8,
                     label=f"nominal cell {result.nominal:.1e}")
        left.axvline(np.log10(max(result.cell_wers.mean(), floor)), color="C3", lw=0.8,
                     label=f"mean over cells {result.cell_wers.mean():.1e}")
        left.set_yscale("log")
        left.set_xlabel("log10 WER of a cell (P->AP)")
        left.set_ylabel("cells")
        left.set_title(f"{len(result.cell_wers):,} cells, spread {spread}, "
                       f"{result.current * 1e6:.0f} uA x {result.width * 1e9:g} ns",
                       fontsize=7)
        left.legend(loc="upper left")
        right.plot(result.currents * 1e6, result.mean_none, marker="o", ms=2,
                   label="no spread")
        right.plot(result.currents * 1e6, result.mean_spread, marker="s", ms=2,
                   label=f"spread {spread}")
        right.axvline(result.current * 1e6, color="gray", lw=0.6)
        right.set_yscale("log")
        right.set_xlabel("write current (uA)")
        right.set_ylabel("mean WER of the array")
        right.set_title(f"{result.width * 1e9:g} ns pulses", fontsize=7)
        right.legend()
        if device:
            fig.suptitle(f"Cells of {device} under spread {spread}", fontsize=8)
        return save(fig, path)
