"""Figures for papers: accuracy against bit error rate (matplotlib, Agg backend)."""

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from mrambnn.experiments import SweepResult  # noqa: E402

__all__ = ["plot_accuracy_vs_ber"]

_STYLE = {"figure.dpi": 150, "font.size": 9, "axes.grid": True, "grid.alpha": 0.3}


def plot_accuracy_vs_ber(results: Sequence[SweepResult], labels: Sequence[str], path: Path,
                         *, title: str = "Accuracy vs weight bit error rate") -> Path:
    """Mean test accuracy (%) with its confidence band against the raw BER (log axis).

    The error-free accuracy (BER 0) of each network is drawn as a dashed line, since 0
    has no place on a log axis. Writes ``path`` (PNG or PDF by suffix) and returns it.
    """
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(4.6, 3.2))
        for result, label in zip(results, labels, strict=True):
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
        n = results[0].config.n_draws if results else 0
        ax.legend(title=f"mean, {int(100 * results[0].config.confidence)} % CI, {n} draws",
                  fontsize=7, title_fontsize=7)
        fig.tight_layout()
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path)
        plt.close(fig)
    return Path(path)
