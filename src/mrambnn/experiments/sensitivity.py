"""Per-layer sensitivity: which layers need strong writes.

For each layer of a network, accuracy against the raw BER with only that layer's weights
exposed (the others stored exactly) and the reverse, every layer but that one exposed;
plus every layer exposed (the uniform curve). Each curve is a BER sweep
(`mrambnn.experiments.ber_sweep`) written to a file of its own in one folder, so a study
resumes point by point. A layer's *tolerable BER* is where its mean accuracy falls
``tolerance`` below the clean accuracy (interpolated in log BER), read from its curve.
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.engine import Conv, PackedNet
from mrambnn.experiments.ber_sweep import SweepConfig, SweepResult, run_ber_sweep
from mrambnn.experiments.budget_table import tolerable_ber

__all__ = ["DEFAULT_SENSITIVITY_BERS", "LayerSensitivity", "SensitivityResult",
           "run_sensitivity"]

DEFAULT_SENSITIVITY_BERS = (0.0, 1e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 2e-1)


@dataclass(frozen=True, kw_only=True)
class LayerSensitivity:
    """One layer: its size and its two curves.

    Attributes:
        index: the layer's position in the network (0 = first).
        kind: 'conv' or 'dense'.
        n_weights: binary weights the layer stores.
        share: its fraction of the network's weights (and of the write energy of a
            uniform write: every stored bit costs the same pulse).
        alone: the sweep with only this layer exposed.
        all_but: the sweep with every other layer exposed (None for a one-layer network).
    """

    index: int
    kind: str
    n_weights: int
    share: float
    alone: SweepResult
    all_but: SweepResult | None

    def tolerable(self, tolerance: float, *, which: str = "alone") -> float | None:
        """BER at which this layer's curve falls ``tolerance`` below clean: None where
        even the smallest swept BER does, the largest swept BER where none does."""
        sweep = self.alone if which == "alone" else self.all_but
        return None if sweep is None else sweep_tolerable(sweep, tolerance)


def sweep_tolerable(sweep: SweepResult, tolerance: float) -> float | None:
    """`tolerable_ber` of a sweep's points, None where the first nonzero BER fails."""
    try:
        return tolerable_ber(sweep.to_dict()["points"], tolerance)
    except ValueError:
        return None


@dataclass(frozen=True, kw_only=True)
class SensitivityResult:
    """Every layer's curves and the uniform curve, on the same images, grid and seed."""

    model: str
    layers: tuple[LayerSensitivity, ...]
    uniform: SweepResult

    @property
    def clean_accuracy(self) -> float:
        return self.uniform.point(0.0).summary().mean

    def table(self, tolerance: float) -> list[dict[str, Any]]:
        """One row per layer: index, kind, weights, share, tolerable BER alone and with
        every other layer exposed (None: below the grid)."""
        return [{"layer": s.index, "kind": s.kind, "n_weights": s.n_weights,
                 "share": s.share, "tolerable_alone": s.tolerable(tolerance),
                 "tolerable_all_but": s.tolerable(tolerance, which="all_but")}
                for s in self.layers]

    def drop_alone(self) -> np.ndarray:
        """(layers, bers) mean accuracy drop with only that layer exposed."""
        clean = self.clean_accuracy
        return np.array([[clean - p.summary().mean for p in s.alone.points]
                         for s in self.layers])


def run_sensitivity(
    net: PackedNet,
    images: np.ndarray,
    labels: np.ndarray,
    config: SweepConfig,
    *,
    out_dir: Path | None = None,
    name: str = "model",
    uniform: SweepResult | None = None,
    workers: int = 1,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> SensitivityResult:
    """Per-layer sensitivity of ``net`` on (``images``, ``labels``) over the BERs of
    ``config`` (which must include 0; its ``layers`` is ignored).

    Args:
        out_dir: folder of the sweep files (``{name}-alone-{i}.json``,
            ``{name}-all-but-{i}.json``, ``{name}-uniform.json``); finished points there
            are read back, not recomputed. None: nothing written.
        uniform: an existing sweep of every layer with this very configuration (the main
            job's) to reuse instead of running one.
        progress: ``progress(label, total)`` returns a callback advanced by draws done.
    """
    if 0.0 not in config.bers:
        raise ValueError("the sensitivity grid needs BER 0 (the clean accuracy)")
    n_layers = len(net.layers)
    total = net.n_weights

    def sweep(layers: tuple[int, ...] | None, label: str) -> SweepResult:
        chosen = replace(config, layers=layers)
        out = None if out_dir is None else Path(out_dir) / f"{name}-{label}.json"
        tick = progress(f"{name} {label}", chosen.total_draws) if progress else None
        return run_ber_sweep(net, images, labels, chosen, out=out, workers=workers,
                             progress=tick)

    if uniform is None or replace(uniform.config, layers=None) != replace(config, layers=None):
        uniform = sweep(None, "uniform")
    found = []
    for i, layer in enumerate(net.layers):
        others = tuple(j for j in range(n_layers) if j != i)
        found.append(LayerSensitivity(
            index=i, kind="conv" if isinstance(layer, Conv) else "dense",
            n_weights=layer.n_weights, share=layer.n_weights / total,
            alone=sweep((i,), f"alone-{i}"),
            all_but=sweep(others, f"all-but-{i}") if others else None))
    return SensitivityResult(model=name, layers=tuple(found), uniform=uniform)
