"""The report's Tiny ImageNet section: top-1 and top-5 against the weight BER on the
full validation set, said plainly to be ImageNet-derived, not ImageNet-1k."""

from pathlib import Path

from mrambnn.experiments.topk_sweep import TopKResult
from mrambnn.plots.topk import plot_topk_vs_ber
from mrambnn.report.formatting import percent_interval

__all__ = ["imagenet_section"]


def imagenet_section(result: TopKResult | None, skipped: str | None, out_dir: Path,
                     label: str) -> list[str]:
    """Markdown lines (a figure in ``out_dir``); a line saying why it did not run when
    ``result`` is None."""
    lines = ["", "## Tiny ImageNet: the ImageNet-derived task", ""]
    if result is None:
        return [*lines, f"NOT RUN: {skipped}."]
    plot_topk_vs_ber(result, label, out_dir / "topk_vs_ber.png")
    model = result.model
    clean = next(p for p in result.points if p.ber == 0)
    clean1, clean5 = clean.summary("top1").mean, clean.summary("top5").mean
    lines += [
        "Tiny ImageNet-200 is derived from ImageNet (200 of its classes, images "
        "downsampled to 64 x 64, 500 training and 50 validation images per class); it is "
        "not ImageNet-1k, whose data and pretrained BNNs cannot be obtained here. The "
        "network below was trained here on the CPU "
        f"(`{model.get('command', '?')}`); architecture {model.get('architecture', '?')}, "
        f"{model.get('n_weights', '?')} binary weights, all in the MRAM. Every draw flips "
        "each stored weight bit with probability BER and evaluates all "
        f"{result.n_images:,} validation images by the full path "
        f"(class scores, hence top-5); {result.config.n_draws} draws per BER > 0, seed "
        f"{result.config.seed}, 95 % Student-t intervals.",
        "",
        "![top-1 and top-5 vs BER](topk_vs_ber.png)",
        "",
        "| BER | top-1 (%) | 95 % CI | drop (points) | top-5 (%) | 95 % CI | drop (points) |",
        "|---|---|---|---|---|---|---|",
    ]
    for point in result.points:
        one, five = point.summary("top1"), point.summary("top5")
        lines.append(f"| {point.ber:g} | {100 * one.mean:.2f} | "
                     f"{percent_interval(one.low, one.high)} | "
                     f"{100 * (clean1 - one.mean):.2f} | {100 * five.mean:.2f} | "
                     f"{percent_interval(five.low, five.high)} | "
                     f"{100 * (clean5 - five.mean):.2f} |")
    return lines
