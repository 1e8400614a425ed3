"""Monte Carlo sweep of accuracy against the raw bit error rate of the stored weights.

The grid points are error rates; their draws run through `mrambnn.experiments.draws`
(draw ``d`` at rate ``ber``: stream ``draw_rng(seed, ber, d)``). By default one fault
pattern is drawn per draw and the whole test set is evaluated on it (a chip programmed
once, then used for every image). Finished points are saved after each point and a
sweep resumes from them.
"""

import csv
import io
import json
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.engine import PackedNet
from mrambnn.experiments.after_write import AfterWrite
from mrambnn.experiments.deploy import check_layers
from mrambnn.experiments.draws import DrawPlan, evaluate_points
from mrambnn.experiments.outputs import claim_output, data_sha256, readable_result
from mrambnn.experiments.results import provenance, read_json, write_atomic
from mrambnn.experiments.stats import MeanInterval, exact_value, json_number, mean_interval
from mrambnn.memory import BitFlip, FaultModel
from mrambnn.memory.cell_faults import ChainedFaults
from mrambnn.memory.ecc import get_code
from mrambnn.memory.ecc_channel import ECCProtected
from mrambnn.memory.faults import check_probability

__all__ = ["DEFAULT_BERS", "BerPoint", "SweepConfig", "SweepResult", "run_ber_sweep"]

CSV_HEADER = ("ber", "mean_accuracy", "std", "ci_low", "ci_high", "n_draws")
DEFAULT_BERS = (0.0, 1e-6, 1e-5, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1)


@dataclass(frozen=True, kw_only=True)
class SweepConfig:
    """What a BER sweep measures.

    Attributes:
        bers: raw bit error rates of the stored weights, each in [0, 1].
        n_draws: fault patterns per error rate (>= 1; 1 at ber = 0 suffices).
        seed: root seed of every draw's stream.
        layers: indices of the exposed layers (None = all).
        n_images: evaluate the first n test images (None = all).
        confidence: level of the confidence interval of the mean accuracy.
        code: 'none' stores the weights as they are; any other `mrambnn.memory.ecc` code
            puts encoding and decoding in the loop, the raw BER then hitting every stored
            bit (data and parity) and the network running on what the decoder returns.
        after: what the stored weights go through after the write and before the
            inference (retention, read disturb, on a chip with spread); None: nothing.
    """

    bers: tuple[float, ...] = DEFAULT_BERS
    n_draws: int = 20
    seed: int = 2019
    layers: tuple[int, ...] | None = None
    n_images: int | None = None
    confidence: float = 0.95
    code: str = "none"
    after: AfterWrite | None = None

    def __post_init__(self) -> None:
        get_code(self.code)
        if self.after is not None and self.code != "none":
            raise ValueError("time after writing is modelled on stored data bits: it cannot "
                             f"be combined with the code {self.code!r}")
        if not self.bers:
            raise ValueError("bers must not be empty")
        for ber in self.bers:
            check_probability("ber", ber)
        if self.n_draws < 1:
            raise ValueError(f"n_draws must be >= 1, got {self.n_draws}")
        if self.n_images is not None and self.n_images < 1:
            raise ValueError(f"n_images must be >= 1, got {self.n_images}")
        if not 0 < self.confidence < 1:
            raise ValueError(f"confidence must be in (0, 1), got {self.confidence}")

    def draws_at(self, ber: float) -> int:
        """Draws evaluated at ``ber``: one at 0 (no fault, every draw the same)."""
        return 1 if ber == 0 else self.n_draws

    @property
    def total_draws(self) -> int:
        """Draws of the whole grid."""
        return sum(self.draws_at(ber) for ber in self.bers)


@dataclass(frozen=True, kw_only=True)
class BerPoint:
    """Accuracies (one per draw) measured at one raw bit error rate."""

    ber: float
    accuracies: tuple[float, ...]

    def summary(self, confidence: float = 0.95) -> MeanInterval:
        """Mean accuracy and its interval within [0, 1]; at BER 0 (no fault: every draw
        the same) the exact value."""
        if self.ber == 0:
            return exact_value(float(np.mean(self.accuracies)), len(self.accuracies))
        return mean_interval(np.array(self.accuracies), confidence=confidence, bounds=(0, 1))


@dataclass(frozen=True, kw_only=True)
class SweepResult:
    """A finished (or partial) sweep with its configuration and provenance."""

    config: SweepConfig
    model: dict[str, Any]
    points: tuple[BerPoint, ...]
    fingerprint: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=provenance)

    def point(self, ber: float) -> BerPoint:
        for p in self.points:
            if p.ber == ber:
                return p
        raise KeyError(f"no point at ber={ber}")

    def to_dict(self) -> dict[str, Any]:
        rows = []
        for p in self.points:
            s = p.summary(self.config.confidence)
            rows.append({"ber": p.ber, "mean": s.mean, "std": json_number(s.std),
                         "ci_low": json_number(s.low), "ci_high": json_number(s.high),
                         "n_draws": s.n, "accuracies": list(p.accuracies)})
        return {"kind": "ber_sweep", "config": asdict(self.config), "model": self.model,
                "fingerprint": self.fingerprint, "versions": self.versions, "points": rows}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "SweepResult":
        """The result a `to_dict` wrote; anything else (another kind of file, a missing or
        mistyped field, an accuracy outside [0, 1], a point off the grid or with another
        number of draws) raises ValueError saying what is wrong."""
        if not isinstance(data, dict) or data.get("kind") != "ber_sweep":
            raise ValueError("not a BER sweep result file")
        try:
            raw = dict(data["config"])
            raw["bers"] = tuple(raw["bers"])
            raw["layers"] = None if raw["layers"] is None else tuple(raw["layers"])
            raw["after"] = None if raw.get("after") is None else AfterWrite.from_dict(
                raw["after"])
            config = SweepConfig(**raw)
            points = tuple(BerPoint(ber=float(r["ber"]),
                                    accuracies=tuple(_accuracy(a) for a in r["accuracies"]))
                           for r in data["points"])
            model, fingerprint = dict(data["model"]), dict(data.get("fingerprint", {}))
        except (KeyError, TypeError, ValueError) as error:
            raise ValueError(f"not a valid BER sweep result: {error!r}") from error
        for p in points:
            if p.ber not in config.bers or len(p.accuracies) != config.draws_at(p.ber):
                raise ValueError(f"not a valid BER sweep result: the point at BER {p.ber} "
                                 f"has {len(p.accuracies)} draws, the grid "
                                 f"{config.draws_at(p.ber) if p.ber in config.bers else 0}")
        return cls(config=config, model=model, points=points, fingerprint=fingerprint,
                   versions=data.get("versions", {}))

    def to_csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_HEADER)
        for row in self.to_dict()["points"]:
            writer.writerow(["" if row[k] is None else row[k]
                             for k in ("ber", "mean", "std", "ci_low", "ci_high", "n_draws")])
        return out.getvalue()

    def save(self, path: Path) -> None:
        """Write ``path`` (JSON) and the CSV beside it, each atomically."""
        path = Path(path)
        write_atomic(path, json.dumps(self.to_dict(), indent=1))
        write_atomic(path.with_suffix(".csv"), self.to_csv())


def _resume(path: Path | None, config: SweepConfig, fingerprint: dict[str, str]
            ) -> dict[float, BerPoint]:
    """The finished points of ``path`` if it holds this very sweep (same configuration,
    model and data); a file of another sweep is an error naming what differs."""
    if path is None or not readable_result(path):
        return {}
    previous = SweepResult.from_dict(read_json(path))
    if not previous.fingerprint:
        raise ValueError(f"{path} does not say which model and data it measured (written by "
                         "an older mrambnn); remove it or choose another output file")
    differs = [what for what, same in (
        ("configuration", previous.config == config),
        ("model", previous.fingerprint.get("model_sha256") == fingerprint["model_sha256"]),
        ("test data", previous.fingerprint.get("data_sha256") == fingerprint["data_sha256"]),
    ) if not same]
    if differs:
        raise ValueError(f"{path} holds a sweep with another {' and '.join(differs)}; "
                         "remove it or choose another output file")
    return {p.ber: p for p in previous.points}


def run_ber_sweep(
    net: PackedNet,
    images: np.ndarray,
    labels: np.ndarray,
    config: SweepConfig,
    *,
    out: Path | None = None,
    workers: int = 1,
    progress: Callable[[int], None] | None = None,
    engine: str = "incremental",
    force: bool = False,
) -> SweepResult:
    """Accuracy of ``net`` on (``images`` (N,H,W,C), ``labels`` (N,)) at every BER.

    Args:
        out: JSON file updated atomically after each finished point; if it already holds
            points of the same configuration they are kept, not recomputed (resume).
        workers: kernel threads (batched evaluators) or processes evaluating draws in
            parallel (results do not depend on it).
        progress: called with the number of draws just finished.
        engine: 'incremental' or 'full' evaluation of each draw (identical results).
        force: replace a CSV beside ``out`` that this sweep did not write.
    Refused (ValueError): an ``out`` that is not a .json file or not a regular file, one
    holding another sweep (configuration, model or test data), one another run is
    writing, an unwritable folder (`mrambnn.experiments.outputs.claim_output`).
    """
    check_layers(net, config.layers)
    if config.n_images is not None:
        images, labels = images[: config.n_images], labels[: config.n_images]
    fingerprint = {"model_sha256": net.content_sha256(),
                   "data_sha256": data_sha256(images, labels)}
    with claim_output(out, suffix=".json", sidecars=(".csv",), force=force) if out else \
            nullcontext():
        return _sweep(net, images, labels, config, fingerprint, out=out, workers=workers,
                      progress=progress, engine=engine)


def _sweep(net: PackedNet, images: np.ndarray, labels: np.ndarray, config: SweepConfig,
           fingerprint: dict[str, str], *, out: Path | None, workers: int,
           progress: Callable[[int], None] | None, engine: str) -> SweepResult:
    done = _resume(out, config, fingerprint)
    after = None if config.after is None else config.after.channel(net)

    def fault_for(ber: float) -> FaultModel:
        write = _fault(config.code, ber)
        return write if after is None else ChainedFaults(stages=(write, after))  # type: ignore

    plan = DrawPlan(fault_for=fault_for, seed=config.seed, layers=config.layers,
                    engine=engine)
    todo = [(ber, config.draws_at(ber)) for ber in config.bers if ber not in done]
    for ber, draws in evaluate_points(net, images, labels, plan, todo, workers=workers,
                                      progress=progress):
        done[ber] = BerPoint(ber=ber, accuracies=draws)
        finished = tuple(done[b] for b in config.bers if b in done)
        if out is not None:
            SweepResult(config=config, model=net.metadata, points=finished,
                        fingerprint=fingerprint).save(out)
    points = tuple(done[b] for b in config.bers)
    return SweepResult(config=config, model=net.metadata, points=points,
                       fingerprint=fingerprint)


def _accuracy(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise ValueError(f"accuracy {value!r} is not a number in [0, 1]")
    return float(value)


def _fault(code: str, ber: float) -> FaultModel:
    return BitFlip(ber=ber) if code == "none" else ECCProtected(code=code, raw_ber=ber)
