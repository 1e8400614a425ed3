"""Accuracy figures: against the weight bit error rate, and against the write energy."""

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from mrambnn.experiments import SweepResult
from mrambnn.experiments.energy_sweep import EnergySweepResult
from mrambnn.plots.style import new_figure, save

__all__ = ["plot_accuracy_vs_ber", "plot_accuracy_vs_energy", "plot_energy_sweeps"]


def plot_accuracy_vs_ber(results: Sequence[SweepResult], labels: Sequence[str], path: Path,
                         *, title: str = "Accuracy vs weight bit error rate") -> Path:
    """Mean test accuracy (%) with its confidence band against the raw BER (log axis).

    The error-free accuracy (BER 0) of each network is drawn as a dashed line, since 0
    has no place on a log axis. Writes ``path`` (PNG or PDF by suffix) and returns it.
    """
    common = {(r.config.n_draws, r.config.n_images) for r in results}
    n, subset = next(iter(common)) if len(common) == 1 else (None, None)
    with new_figure(4.6, 3.2) as (fig, ax):
        for result, label in zip(results, labels, strict=True):
            if len(common) > 1:  # say each curve's own draws and test subset
                images = result.config.n_images
                label = (f"{label} ({result.config.n_draws} draws"
                         + (f", {images} images)" if images else ")"))
            rows = result.to_dict()["points"]
            clean = [r for r in rows if r["ber"] == 0]
            noisy = sorted((r for r in rows if r["ber"] > 0), key=lambda r: r["ber"])
            x = [r["ber"] for r in noisy]
            line, = ax.plot(x, [100 * r["mean"] for r in noisy], marker="o", ms=3,
                            label=f"{label}")
            ax.fill_between(x, [100 * r["ci_low"] for r in noisy],
                            [100 * r["ci_high"] for r in noisy], color=line.get_color(),
                            alpha=0.25, lw=0)
            if clean:
                ax.axhline(100 * clean[0]["mean"], color=line.get_color(), ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("weight bit error rate (raw BER)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(title)
        confidence = int(100 * results[0].config.confidence) if results else 95
        header = f"mean, {confidence} % CI" + (f", {n} draws" if n else "") \
            + (f", {subset} images" if subset else "")
        ax.legend(title=header, title_fontsize=6)
        return save(fig, path)


def plot_accuracy_vs_energy(result: EnergySweepResult, clean_accuracy: float, path: Path, *,
                            marked_energy: float | None = None, label: str = "") -> Path:
    """Mean accuracy (CI band) vs write energy per bit; the 0.5-point-drop energy marked;
    ``label`` (the model and device) in the legend and the title."""
    points = result.by_energy()
    summaries = [p.summary for p in points]
    energy = np.array([p.energy_per_bit for p in points]) * 1e12
    with new_figure(4.6, 3.3) as (fig, ax):
        ax.plot(energy, [100 * s.mean for s in summaries], marker="o", ms=3, label=label)
        ax.fill_between(energy, [100 * s.low for s in summaries],
                        [100 * s.high for s in summaries], alpha=0.25, lw=0)
        ax.axhline(100 * clean_accuracy, ls="--", lw=0.8, color="k", label="error-free")
        ax.axhline(100 * clean_accuracy - 0.5, ls=":", lw=0.8, color="k",
                   label="0.5 point below")
        if marked_energy is not None:
            ax.axvline(marked_energy * 1e12, color="C3", lw=0.9,
                       label=f"0.5-point drop at {marked_energy * 1e12:.3f} pJ")
        ax.set_ylim(0, 100 * clean_accuracy + 3)  # the whole fall, not only its top
        ax.set_xlabel(f"write energy per bit (pJ), {result.config.width * 1e9:g} ns pulses")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title(f"Accuracy vs write energy{': ' + label if label else ''}", fontsize=8)
        ax.set_xscale("log")
        ax.legend(loc="lower right")
        return save(fig, path)


def plot_energy_sweeps(results: Sequence[EnergySweepResult], labels: Sequence[str],
                       path: Path, *, drop: float = 0.005) -> Path:
    """Several accuracy-vs-write-energy curves (mean, CI band) on one log energy axis;
    each curve's clean accuracy dashed and its drop-point energy marked where the result
    file holds the clean accuracy. The y axis shows the whole fall."""
    from mrambnn.experiments.energy_sweep import energy_at_accuracy_drop

    top = 0.0
    with new_figure(4.8, 3.4) as (fig, ax):
        for result, label in zip(results, labels, strict=True):
            points = result.by_energy()
            summaries = [p.summary for p in points]
            energy = np.array([p.energy_per_bit for p in points]) * 1e12
            line, = ax.plot(energy, [100 * s.mean for s in summaries], marker="o", ms=3,
                            label=f"{label} ({result.config.n_draws} draws)")
            ax.fill_between(energy, [100 * s.low for s in summaries],
                            [100 * s.high for s in summaries], color=line.get_color(),
                            alpha=0.2, lw=0)
            top = max(top, max(100 * s.mean for s in summaries))
            clean = result.clean_accuracy
            if clean is not None:
                top = max(top, 100 * clean)
                ax.axhline(100 * clean, ls="--", lw=0.8, color=line.get_color())
                marked = energy_at_accuracy_drop(result, clean, drop=drop)
                if marked is not None:
                    ax.axvline(marked * 1e12, ls=":", lw=0.9, color=line.get_color())
        ax.set_ylim(0, top + 3)
        ax.set_xscale("log")
        ax.set_xlabel("write energy per bit (pJ)")
        ax.set_ylabel("test accuracy (%)")
        ax.set_title("Accuracy vs write energy (dashed: error-free; dotted: "
                     f"{100 * drop:g}-point drop)", fontsize=7)
        ax.legend(loc="lower right", title="mean, 95 % CI", title_fontsize=6)
        return save(fig, path)
