"""The report of the main job: the claim, accuracy against BER for every network, then
the physics and budget sections (`render_report`)."""

from pathlib import Path

import numpy as np

from mrambnn import __version__
from mrambnn.experiments import SweepResult, write_atomic
from mrambnn.experiments.main_job import CLAIM_BER, MainJobResult, model_label
from mrambnn.physics.device_file import resolve_device
from mrambnn.plots import plot_accuracy_vs_ber
from mrambnn.report.budget_section import budget_section
from mrambnn.report.device_section import device_sections
from mrambnn.report.formatting import percent_interval
from mrambnn.report.imagenet_section import imagenet_section
from mrambnn.report.layer_section import layer_sections
from mrambnn.report.physics_section import physics_section

__all__ = ["CLAIM_TOLERANCE_POINTS", "render_report"]

# Accuracy drop (points) the paper calls "little": our tolerance for the 1e-3 claim.
CLAIM_TOLERANCE_POINTS = 1.0


def _row(result: SweepResult, ber: float) -> str:
    s = result.point(ber).summary(result.config.confidence)
    std = "n/a" if np.isnan(s.std) else f"{100 * s.std:.2f}"
    return f"| {ber:g} | {100 * s.mean:.2f} | {std} | {percent_interval(s.low, s.high)} |"


def _claim_line(name: str, result: SweepResult) -> str:
    clean = result.point(0.0).summary().mean
    at = result.point(CLAIM_BER).summary().mean
    drop = 100 * (clean - at)
    verdict = "holds" if drop <= CLAIM_TOLERANCE_POINTS else "does NOT hold"
    subset = result.config.n_images
    scope = f" (first {subset} test images only)" if subset else ""
    if "importer" in result.model:
        scope += ", trained elsewhere"
    return (f"- {name}{scope}: clean {100 * clean:.2f} %, at BER {CLAIM_BER:g} {100 * at:.2f} % "
            f"(drop {drop:.2f} points): the claim {verdict} "
            f"(tolerance {CLAIM_TOLERANCE_POINTS:g} point).")


def _provenance(model: dict) -> list[str]:
    """Where an imported network comes from, and its accuracy there and here."""
    if "importer" not in model:
        return []
    line = (f"Trained elsewhere, imported bit for bit ({model['importer']} importer): "
            f"{model.get('source', '?')}.")
    if "test_accuracy" in model:
        line += (f" The packed engine measures {100 * float(model['test_accuracy']):.2f} % "
                 "on the whole test set")
        if "claimed_accuracy" in model:
            line += (f"; its publisher claims {100 * float(model['claimed_accuracy']):.2f} % "
                     f"({model.get('claim_source', 'no source given')})")
        line += "."
    if model.get("importer") == "finn":
        line += (" The import computes what the FINN hardware computes: thresholds rounded "
                 "to integers, the output layer's BatchNorm reduced to its sign (class "
                 "scores are popcounts), which the float training run did not.")
    return ["", line]


def _sweep_section(name: str, result: SweepResult) -> list[str]:
    model = result.model
    config = result.config
    return [
        "",
        f"### {name}",
        "",
        f"Architecture {model.get('architecture', '?')}, data set {model.get('dataset', '?')}, "
        f"{model.get('n_weights', '?')} binary weights, test images "
        f"{config.n_images or 'all'}, {config.n_draws} draws per BER > 0, seed {config.seed}.",
        *_provenance(model),
        "",
        f"| BER | mean accuracy (%) | std (%) | {int(100 * config.confidence)} % CI (%) |",
        "|---|---|---|---|",
        *[_row(result, p.ber) for p in result.points],
        *_rise_note(result),
    ]


def _rise_note(result: SweepResult) -> list[str]:
    """A sentence on BERs whose mean accuracy is above the clean one: whether the rise is
    within the draws' interval, so that nobody takes it for a bug or a gain."""
    clean = result.point(0.0).summary().mean
    risen = [(p.ber, p.summary(result.config.confidence)) for p in result.points
             if p.ber > 0 and p.summary().mean > clean]
    if not risen:
        return []
    within = [ber for ber, s in risen if np.isnan(s.low) or s.low <= clean]
    beyond = [ber for ber, s in risen if ber not in within]
    top_ber, top = max(risen, key=lambda r: r[1].mean)
    text = (f"The mean accuracy is slightly above the clean {100 * clean:.2f} % at BER "
            f"{', '.join(f'{b:g}' for b, _ in risen)} (at most {100 * top.mean:.2f} %, BER "
            f"{top_ber:g}). A flipped weight can tip a borderline image either way, and "
            "with few flips the two directions nearly cancel; ")
    if not beyond:
        text += "every such rise is within its interval: noise, not a gain."
    else:
        text += (f"at BER {', '.join(f'{b:g}' for b in beyond)} the whole interval is above "
                 "clean: on this test set those faults help a little, by chance of which "
                 "images sit at a decision boundary; not a gain to design for.")
    return ["", text]


def render_report(result: MainJobResult, out_dir: Path, *, wall_seconds: float) -> Path:
    """Write the figures and ``report.md`` of a main job into ``out_dir``; returns the
    report's path. ``wall_seconds``: the job's wall time, stated in the report."""
    out_dir = Path(out_dir)
    names = list(result.sweeps)
    plot_accuracy_vs_ber([result.sweeps[n] for n in names], names,
                         out_dir / "accuracy_vs_ber.png")
    config = result.config
    device = resolve_device(config.device).name
    physics = physics_section(result.physics, out_dir, device=device,
                              energy_model=model_label(config.energy_model))
    budget = ([] if result.budget is None
              else budget_section(result.budget, out_dir, model_label(config.budget_model),
                                 device=device))
    lines = [
        "# mrambnn reproduction report",
        "",
        "Hirtzlin et al., *Implementing Binarized Neural Networks with Magnetoresistive RAM "
        "without Error Correction*, NANOARCH 2019. Claim checked here: BNNs lose little "
        f"accuracy at weight bit error rates up to {CLAIM_BER:g}.",
        "",
        f"mrambnn {__version__}; wall time of this job {wall_seconds:.0f} s "
        "(finished points of an earlier, interrupted run are reused, not re-timed).",
        "",
        f"## Claim: little accuracy loss at BER {CLAIM_BER:g}",
        "",
        *[_claim_line(n, result.sweeps[n]) for n in names],
        *[f"- {n}: NOT RUN, its data set is missing here ({why})."
          for n, why in result.skipped.items()],
        "",
        "## Accuracy vs weight bit error rate",
        "",
        "![accuracy vs BER](accuracy_vs_ber.png)",
        "",
        "Every weight of every layer is exposed; each draw stores the network once with an "
        "independent fault pattern (every bit flipped with probability BER) and evaluates the "
        "test set on it (all 10,000 images unless a subset is stated below). CI: Student-t "
        "interval of the mean over draws.",
    ]
    for name in names:
        lines += _sweep_section(name, result.sweeps[name])
    lines += physics + budget
    if result.devices is not None:
        lines += device_sections(result.devices, result.physics, out_dir,
                                 stored_bits=result.stored_bits, device=device)
    if result.layers is not None:
        lines += layer_sections(result.layers, out_dir)
    if config.imagenet is not None:
        lines += imagenet_section(result.imagenet, result.imagenet_skipped, out_dir,
                                  model_label(config.imagenet.model))
    report = out_dir / "report.md"
    write_atomic(report, "\n".join(lines) + "\n")
    return report
