"""The main job's study beyond uniform errors: which layers need strong writes (per-layer
sensitivity), the cheapest write condition per layer (selective protection, checked by
Monte Carlo against the best uniform one), and networks trained to tolerate weak writes
(error-aware training: each shipped network against its error-aware fine-tuned twin).
"""

from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from mrambnn.datasets import DataError, load_test_set
from mrambnn.engine import PackedNet
from mrambnn.experiments.ber_sweep import SweepConfig, SweepResult, run_ber_sweep
from mrambnn.experiments.budget_table import tolerable_ber
from mrambnn.experiments.protection import ProtectionResult, protect
from mrambnn.experiments.sensitivity import SensitivityResult, run_sensitivity
from mrambnn.models import ERROR_AWARE, dataset_of
from mrambnn.physics.mtj import MTJ

__all__ = ["ErrorAwarePair", "LayerStudyConfig", "LayerStudyResult", "run_layer_study"]

Progress = Callable[[str, int], Callable[[int], None]]


@dataclass(frozen=True, kw_only=True)
class LayerStudyConfig:
    """Settings of the study beyond uniform errors.

    Attributes:
        sensitivity: BER grid (with 0), draws, seed and test subset of the per-layer
            curves; ``sensitivity_models`` the networks they are measured on;
            ``subsets`` (model, n): that model's curves on its first n test images.
        protect_models: networks of the selective protection; ``tolerance`` its drop
            (accuracy fraction), ``check_draws`` and ``check_images`` its Monte Carlo check.
        error_aware: (standard, error-aware) model pairs compared on ``error_aware_sweep``;
            ``error_aware_drop`` the drop at which their tolerable BERs are read.
    """

    sensitivity: SweepConfig = SweepConfig(bers=(0.0, 1e-3, 1e-2, 1e-1), n_draws=3,
                                           n_images=1000)
    sensitivity_models: tuple[str, ...] = ("mnist-mlp", "fashion-conv", "cifar-vgg",
                                           "tiny-vgg")
    subsets: tuple[tuple[str, int], ...] = (("cifar-vgg", 250),
                                            ("tiny-vgg", 500))  # main job under 10 min
    protect_models: tuple[str, ...] = ("mnist-mlp",)
    tolerance: float = 0.005
    check_draws: int = 4
    check_images: int = 2000
    error_aware: tuple[tuple[str, str], ...] = tuple(ERROR_AWARE.items())
    error_aware_sweep: SweepConfig = SweepConfig(
        bers=(0.0, 1e-3, 1e-2, 2e-2, 5e-2, 1e-1), n_draws=3, n_images=1000)
    error_aware_drop: float = 0.01


@dataclass(frozen=True, kw_only=True)
class ErrorAwarePair:
    """A network and its error-aware twin on the same grid and images."""

    standard: str
    aware: str
    standard_sweep: SweepResult
    aware_sweep: SweepResult
    drop: float

    def tolerable(self, which: str) -> float | None:
        """BER at which the curve falls ``drop`` below its own clean accuracy (None:
        below the grid)."""
        sweep = self.standard_sweep if which == "standard" else self.aware_sweep
        try:
            return tolerable_ber(sweep.to_dict()["points"], self.drop)
        except ValueError:
            return None


@dataclass(frozen=True, kw_only=True)
class LayerStudyResult:
    """Sensitivity per network, protection per network, error-aware pairs, and what was
    skipped (name -> why)."""

    config: LayerStudyConfig
    sensitivity: dict[str, SensitivityResult]
    protection: dict[str, ProtectionResult]
    error_aware: tuple[ErrorAwarePair, ...]
    skipped: dict[str, str]


def run_layer_study(config: LayerStudyConfig, *, load: Callable[[str], PackedNet], mtj: MTJ,
                    out_dir: Path, data_dir: Path | None = None, workers: int = 1,
                    progress: Progress | None = None) -> LayerStudyResult:
    """Run the study, writing each sweep under ``out_dir`` (resumed when present).

    Args:
        load: the network of a model name.
        mtj: the device of the protection's write conditions.
    """
    sensitivity: dict[str, SensitivityResult] = {}
    protection: dict[str, ProtectionResult] = {}
    pairs: list[ErrorAwarePair] = []
    skipped: dict[str, str] = {}
    folder = Path(out_dir) / "layers"

    def test_set(name: str):  # type: ignore[no-untyped-def]
        net = load(name)
        return net, load_test_set(dataset_of(net, where=name), data_dir)

    for name in dict.fromkeys((*config.sensitivity_models, *config.protect_models)):
        try:
            net, data = test_set(name)
        except DataError as error:
            skipped[name] = str(error)
            continue
        curves = config.sensitivity
        if name in dict(config.subsets):
            curves = replace(curves, n_images=dict(config.subsets)[name])
        sensitivity[name] = run_sensitivity(net, data.x_test, data.y_test, curves,
                                            out_dir=folder, name=name, workers=workers,
                                            progress=progress)
        if name in config.protect_models:
            n = config.check_images
            protection[name] = protect(net, data.x_test[:n], data.y_test[:n],
                                       sensitivity[name], mtj=mtj, tolerance=config.tolerance,
                                       n_draws=config.check_draws,
                                       seed=config.sensitivity.seed, workers=workers,
                                       progress=progress)
    for standard, aware in config.error_aware:
        try:
            nets = [test_set(standard), test_set(aware)]
        except DataError as error:
            skipped[aware] = str(error)
            continue
        sweeps = []
        for name, (net, data) in zip((standard, aware), nets, strict=True):
            sweep = replace(config.error_aware_sweep, layers=None)
            tick = progress(f"{name} BER sweep (error-aware comparison)",
                            sweep.total_draws) if progress else None
            sweeps.append(run_ber_sweep(net, data.x_test, data.y_test, sweep,
                                        out=folder / f"{name}-vs-error-aware.json",
                                        workers=workers, progress=tick))
        pairs.append(ErrorAwarePair(standard=standard, aware=aware, standard_sweep=sweeps[0],
                                    aware_sweep=sweeps[1], drop=config.error_aware_drop))
    return LayerStudyResult(config=config, sensitivity=sensitivity, protection=protection,
                            error_aware=tuple(pairs), skipped=skipped)
