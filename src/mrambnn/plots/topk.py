"""Top-1 and top-5 accuracy against the weight BER (the ImageNet-style figure)."""

from pathlib import Path

from mrambnn.experiments.topk_sweep import TopKResult
from mrambnn.plots.style import new_figure, save

__all__ = ["plot_topk_vs_ber"]


def plot_topk_vs_ber(result: TopKResult, label: str, path: Path) -> Path:
    """Mean top-1 and top-5 accuracy (%) with 95 % CI bands against the raw BER (log
    axis); the clean accuracies as dashed lines. Writes ``path`` and returns it."""
    noisy = sorted((p for p in result.points if p.ber > 0), key=lambda p: p.ber)
    clean = [p for p in result.points if p.ber == 0]
    with new_figure(4.6, 3.2) as (fig, ax):
        for which in ("top1", "top5"):
            summaries = [p.summary(which) for p in noisy]
            x = [p.ber for p in noisy]
            line, = ax.plot(x, [100 * s.mean for s in summaries], marker="o", ms=3,
                            label=f"{label} {which.replace('top', 'top-')}")
            ax.fill_between(x, [100 * s.low for s in summaries],
                            [100 * s.high for s in summaries], color=line.get_color(),
                            alpha=0.25, lw=0)
            if clean:
                ax.axhline(100 * clean[0].summary(which).mean, color=line.get_color(),
                           ls="--", lw=0.8)
        ax.set_xscale("log")
        ax.set_xlabel("weight bit error rate (raw BER)")
        ax.set_ylabel("validation accuracy (%)")
        ax.set_title("Tiny ImageNet-200 (ImageNet-derived): top-1 and top-5")
        ax.legend(title=f"mean, 95 % CI, {result.config.n_draws} draws", title_fontsize=6)
        return save(fig, path)
