"""The main job: the paper's accuracy-vs-BER claim on the shipped networks, the device
physics from pulse to accuracy, and the system budget, as one typed result.

`run_main_job` computes and writes the result files (each sweep's JSON and CSV, the
energy sweep, the budget) into one folder; `mrambnn.report` renders the figures and the
report from the `MainJobResult`. Interrupted runs resume: finished sweep points are read
back from the result files, not recomputed.
"""

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.datasets import DataError, load_test_set
from mrambnn.engine import PackedNet, accuracy
from mrambnn.experiments.ber_sweep import DEFAULT_BERS, SweepConfig, SweepResult, run_ber_sweep
from mrambnn.experiments.budget_study import BudgetConfig, BudgetResult, run_budget
from mrambnn.experiments.device_study import DeviceStudyConfig, DeviceStudyResult, run_device_study
from mrambnn.experiments.energy_sweep import (
    EnergySweepConfig,
    EnergySweepResult,
    energy_at_accuracy_drop,
    run_energy_sweep,
)
from mrambnn.experiments.layer_study import LayerStudyConfig, LayerStudyResult, run_layer_study
from mrambnn.experiments.topk_sweep import TopKConfig, TopKResult, run_topk_sweep
from mrambnn.importers.finn import FinnFormatError, default_cnv_folder, read_finn
from mrambnn.memory.mram import MRAM
from mrambnn.models import SHIPPED_MODELS, dataset_of, load_model
from mrambnn.physics.calibration import AMPLITUDE_CURVE, PULSE_CURVE, switching_probability
from mrambnn.physics.device_file import resolve_device
from mrambnn.physics.energy import WriteCircuit, WritePulse, current_for_energy, pulse_at
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.presets import get_preset
from mrambnn.physics.switching import current_for_wer

__all__ = ["CLAIM_BER", "ENERGY_DROP", "EXTERNAL_MODELS", "ImageNetStudyConfig",
           "MainJobConfig", "MainJobResult", "PhysicsResult", "config_for_models",
           "load_job_model", "model_label", "run_main_job"]

CLAIM_BER = 1e-3  # the paper's claim: little accuracy loss up to this weight BER
ENERGY_DROP = 0.005  # accuracy drop (0.5 point) at which the write energy is read off
TARGET_WERS = (1e-3, 1e-6, 1e-9)  # the pulse table's target WERs; the last is "strong"
CALIBRATED_PRESET = "rehm2023-smtj"  # the preset fitted to measured switching

Progress = Callable[[str, int], Callable[[int], None]]

# Networks trained elsewhere that the main job imports where their files are present:
# BNN-PYNQ's CNV W1A1 (Xilinx, CIFAR-10), read from ../shared/data/bnn-pynq.
EXTERNAL_MODELS: dict[str, Callable[[], PackedNet]] = {
    "bnn-pynq-cnv": lambda: read_finn(default_cnv_folder()),
}


@dataclass(frozen=True, kw_only=True)
class ImageNetStudyConfig:
    """The Tiny ImageNet section: the network (shipped name or file), its top-1 / top-5
    sweep, and the validation images evaluated (None: all 10,000)."""

    model: str = "tiny-vgg"
    topk: TopKConfig = TopKConfig(bers=(0.0, 1e-3, 1e-2), n_draws=10)
    n_images: int | None = None


@dataclass(frozen=True, kw_only=True)
class MainJobConfig:
    """Settings of the main job.

    Attributes:
        models: shipped model names or model files.
        sweep: the BER grid, draws per point and seed shared by every model.
        subsets: (model, n) pairs: evaluate only the first n test images of that model
            (said in the report).
        draws: (model, n) pairs: n draws per BER for that model instead of the sweep's.
        workers: parallel workers for the Monte Carlo draws (kernel threads, or worker
            processes where an evaluation is not batched).
        device: the device of the physics, budget and device sections: a preset name or
            a device file (`mrambnn.physics.device_file`).
        energy_model, budget_model: the networks of those sections.
        devices: the device study (variability, retention, co-design); None skips it.
        layers: the study beyond uniform errors (per-layer sensitivity, selective
            protection, error-aware training); None skips it.
        imagenet: the Tiny ImageNet section (top-1 / top-5 vs BER), run where its network
            and validation data are present (the report says why not elsewhere); None
            skips it.
    """

    models: tuple[str, ...] = ("mnist-mlp", "fashion-conv", "cifar-vgg", "bnn-pynq-cnv")
    sweep: SweepConfig = SweepConfig(bers=DEFAULT_BERS, n_draws=20)
    subsets: tuple[tuple[str, int], ...] = (("bnn-pynq-cnv", 1000),)
    draws: tuple[tuple[str, int], ...] = (("fashion-conv", 6), ("cifar-vgg", 5),
                                          ("bnn-pynq-cnv", 10))
    workers: int = 2
    device: str = "pmtj-40nm"
    energy_model: str = "mnist-mlp"
    energy_sweep: EnergySweepConfig = EnergySweepConfig(
        width=10e-9, currents=tuple(float(c) for c in [70e-6, 78e-6, 84e-6, 88e-6, 92e-6,
                                                        96e-6, 100e-6, 108e-6, 125e-6,
                                                        150e-6, 180e-6]), n_draws=10)
    budget_model: str = "mnist-mlp"
    budget: BudgetConfig = BudgetConfig()
    devices: DeviceStudyConfig | None = DeviceStudyConfig()
    layers: LayerStudyConfig | None = LayerStudyConfig()
    imagenet: ImageNetStudyConfig | None = ImageNetStudyConfig()

    def __post_init__(self) -> None:
        resolve_device(self.device)  # a malformed device file fails before any sweep


@dataclass(frozen=True, kw_only=True)
class PhysicsResult:
    """From write pulse to accuracy: the device, the pulses at the target WERs, the
    calibration's agreement with measurement, and the accuracy-vs-energy sweep.

    Attributes:
        target_pulses: P->AP pulses of the sweep's width at `TARGET_WERS`.
        calibrated: the preset fitted to measured switching; ``fit_error`` its largest
            deviation from the fitted curve's points (switching probability),
            ``amplitude_error`` from the curve it was not fitted to.
        clean_accuracy: the energy model's error-free accuracy.
        marked_energy: write energy per bit (J) at the `ENERGY_DROP` (None: not reached).
    """

    mtj: MTJ
    circuit: WriteCircuit
    target_pulses: tuple[WritePulse, ...]
    calibrated: MTJ
    fit_points: int
    fit_error: float
    amplitude_error: float
    energy_sweep: EnergySweepResult
    clean_accuracy: float
    marked_energy: float | None

    @property
    def strong_pulse(self) -> WritePulse:
        """The conventional memory's pulse: the smallest target WER."""
        return self.target_pulses[-1]


@dataclass(frozen=True, kw_only=True)
class MainJobResult:
    """Everything the report shows: one sweep per model that ran, the models skipped
    (with why), the physics section, the budget (None if its model did not run), the
    device study and the layer study (None if not configured) and each swept model's
    stored weight bits."""

    config: MainJobConfig
    sweeps: dict[str, SweepResult]
    skipped: dict[str, str]
    physics: PhysicsResult
    budget: BudgetResult | None
    devices: DeviceStudyResult | None = None
    stored_bits: dict[str, int] = field(default_factory=dict)
    layers: LayerStudyResult | None = None
    imagenet: TopKResult | None = None
    imagenet_skipped: str | None = None


def model_label(model: str) -> str:
    """The name a model's results and report sections go by: a shipped or external
    model's own name, a model file's stem (other characters than letters, digits, '.',
    '_' and '-' replaced by '-')."""
    if model in SHIPPED_MODELS or model in EXTERNAL_MODELS:
        return model
    return re.sub(r"[^A-Za-z0-9._-]", "-", Path(model).stem) or "model"


def load_job_model(model: str) -> PackedNet:
    """A model of the main job: external (`EXTERNAL_MODELS`), shipped, or a file."""
    return EXTERNAL_MODELS[model]() if model in EXTERNAL_MODELS else load_model(model)


def config_for_models(models: Sequence[str], **settings: Any) -> MainJobConfig:
    """The main job on ``models`` (shipped names, external names or model files), every
    section on them: where the default energy and budget model is not among them, the
    first model takes its place, and the device study runs on the first (variability,
    lifetime) and the first two (co-design). ``settings``: other `MainJobConfig` fields.
    Raises ValueError if two models would write results under one name."""
    models = tuple(str(m) for m in models)
    if not models:
        raise ValueError("name at least one model")
    labels = [model_label(m) for m in models]
    if len(set(labels)) < len(labels):
        raise ValueError(f"two of the models would write results under one name "
                         f"({', '.join(labels)}); rename a model file")
    config = MainJobConfig(models=models, **settings)
    if config.layers is not None and set(models) != set(MainJobConfig().models):
        own = tuple(label for m, label in zip(models, labels, strict=True)
                    if m not in EXTERNAL_MODELS)  # the given models, not the external ones
        config = replace(config, layers=replace(
            config.layers, sensitivity_models=own, protect_models=own[:1],
            error_aware=tuple((s, a) for s, a in config.layers.error_aware if s in models)))
    if config.energy_model in models:
        return config
    devices = config.devices
    if devices is not None:
        devices = replace(devices, spread_model=labels[0], codesign_models=tuple(labels[:2]))
    return replace(config, energy_model=models[0], budget_model=models[0], devices=devices)


def _label_loader(config: MainJobConfig) -> Callable[[str], PackedNet]:
    """Loads a model by its label (`model_label`) or by what the config names it."""
    by_label = {model_label(m): m for m in
                (*config.models, config.energy_model, config.budget_model)}
    return lambda name: load_job_model(by_label.get(name, name))


def _sweeps(config: MainJobConfig, out_dir: Path, data_dir: Path | None,
            progress: Progress | None
            ) -> tuple[dict[str, SweepResult], dict[str, str], dict[str, int]]:
    results: dict[str, SweepResult] = {}
    skipped: dict[str, str] = {}
    stored_bits: dict[str, int] = {}
    for model in config.models:
        name = model_label(model)
        try:
            net = load_job_model(model)
            data = load_test_set(dataset_of(net, where=model), data_dir)
        except (DataError, FinnFormatError) as error:  # e.g. CIFAR-10 not on this machine
            skipped[name] = str(error)
            continue
        if "test_accuracy" not in net.metadata:  # an imported network: measure it here
            net.metadata["test_accuracy"] = accuracy(net, data.x_test, data.y_test)
        sweep = config.sweep
        for key in (model, name):
            if key in dict(config.subsets):
                sweep = replace(sweep, n_images=dict(config.subsets)[key])
            if key in dict(config.draws):
                sweep = replace(sweep, n_draws=dict(config.draws)[key])
        if CLAIM_BER not in sweep.bers or 0.0 not in sweep.bers:
            sweep = replace(sweep, bers=tuple(sorted({*sweep.bers, 0.0, CLAIM_BER})))
        tick = progress(f"{name} BER sweep", sweep.total_draws) if progress else None
        results[name] = run_ber_sweep(net, data.x_test, data.y_test, sweep,
                                      out=out_dir / f"sweep-{name}.json",
                                      workers=config.workers, progress=tick)
        stored_bits[name] = int(sum(w.size for w in net.weight_words)) * 64
    return results, skipped, stored_bits


def _physics(config: MainJobConfig, sweeps: dict[str, SweepResult], out_dir: Path,
             data_dir: Path | None, progress: Progress | None) -> PhysicsResult:
    mtj = resolve_device(config.device).mtj
    circuit = WriteCircuit()
    width = config.energy_sweep.width
    pulses = tuple(pulse_at(mtj, circuit, wer=target, direction="p2ap",
                            current=current_for_wer(mtj, target, width=width,
                                                    direction="p2ap"))
                   for target in TARGET_WERS)
    calibrated = get_preset(CALIBRATED_PRESET)
    fitted = (PULSE_CURVE.probability > 0) & (PULSE_CURVE.probability < 1)
    fit_error = np.abs(switching_probability(calibrated, PULSE_CURVE)
                       - PULSE_CURVE.probability)[fitted].max()
    amplitude_error = np.abs(switching_probability(calibrated, AMPLITUDE_CURVE)
                             - AMPLITUDE_CURVE.probability).max()
    net: PackedNet = load_job_model(config.energy_model)
    data = load_test_set(dataset_of(net, where=config.energy_model), data_dir)
    sweep = config.energy_sweep
    label = model_label(config.energy_model)
    images, labels = data.x_test[:sweep.n_images], data.y_test[:sweep.n_images]
    if label in sweeps and sweeps[label].config.n_images == sweep.n_images:
        clean = sweeps[label].point(0.0).summary().mean
    else:
        clean = accuracy(net, images, labels)
    tick = (progress(f"{label} energy sweep", len(sweep.currents) * sweep.n_draws)
            if progress else None)
    energy = run_energy_sweep(net, data.x_test, data.y_test, MRAM(mtj=mtj, circuit=circuit),
                              sweep, out=out_dir / f"energy-{label}.json",
                              workers=config.workers, progress=tick, clean_accuracy=clean)
    return PhysicsResult(
        mtj=mtj, circuit=circuit, target_pulses=pulses, calibrated=calibrated,
        fit_points=int(fitted.sum()), fit_error=float(fit_error),
        amplitude_error=float(amplitude_error), energy_sweep=energy, clean_accuracy=clean,
        marked_energy=energy_at_accuracy_drop(energy, clean, drop=ENERGY_DROP))


def run_main_job(out_dir: Path, config: MainJobConfig = MainJobConfig(), *,
                 data_dir: Path | None = None, progress: Progress | None = None
                 ) -> MainJobResult:
    """Run the main job, writing its result files into ``out_dir``.

    Args:
        data_dir: folder of the test data (None: each data set's default location).
        progress: ``progress(label, total)`` returns a callback advanced by draws done.
    """
    out_dir = Path(out_dir)
    sweeps, skipped, stored_bits = _sweeps(config, out_dir, data_dir, progress)
    physics = _physics(config, sweeps, out_dir, data_dir, progress)
    budget = None
    budget_label = model_label(config.budget_model)
    if budget_label in sweeps:
        budget = run_budget(load_job_model(config.budget_model),
                            sweeps[budget_label].to_dict()["points"],
                            mtj=physics.mtj, config=config.budget,
                            out=out_dir / f"budget-{budget_label}.json")
    devices = None
    if config.devices is not None:
        marked = physics.marked_energy
        devices = run_device_study(
            config.devices, sweeps=sweeps, mtj=physics.mtj,
            mram=MRAM(mtj=physics.mtj, circuit=physics.circuit),
            energy_sweep=config.energy_sweep, drop=ENERGY_DROP, data_dir=data_dir,
            marked_current=None if marked is None else current_for_energy(
                physics.circuit, energy=marked, width=config.energy_sweep.width),
            load=_label_loader(config), workers=config.workers, progress=progress)
    layers = None
    if config.layers is not None:
        layers = run_layer_study(config.layers, load=_label_loader(config), mtj=physics.mtj,
                                 out_dir=out_dir, data_dir=data_dir, workers=config.workers,
                                 progress=progress)
    imagenet, imagenet_skipped = (None, None) if config.imagenet is None else _imagenet(
        config.imagenet, out_dir, data_dir, progress)
    return MainJobResult(config=config, sweeps=sweeps, skipped=skipped, physics=physics,
                         budget=budget, devices=devices, stored_bits=stored_bits,
                         layers=layers, imagenet=imagenet, imagenet_skipped=imagenet_skipped)


def _imagenet(config: ImageNetStudyConfig, out_dir: Path, data_dir: Path | None,
              progress: Progress | None) -> tuple[TopKResult | None, str | None]:
    """The Tiny ImageNet top-1 / top-5 sweep, or (None, why it did not run)."""
    if config.model not in SHIPPED_MODELS and not Path(config.model).is_file():
        return None, f"no Tiny ImageNet network {config.model!r} is shipped or given"
    net = load_job_model(config.model)
    try:
        data = load_test_set(dataset_of(net, where=config.model), data_dir)
    except DataError as error:
        return None, f"its validation data is missing here ({error})"
    images, labels = data.x_test, data.y_test
    if config.n_images is not None:
        images, labels = images[:config.n_images], labels[:config.n_images]
    label = model_label(config.model)
    total = sum(config.topk.draws_at(b) for b in config.topk.bers)
    tick = progress(f"{label} top-1 / top-5 sweep", total) if progress else None
    return run_topk_sweep(net, images, labels, config.topk,
                          out=out_dir / f"topk-{label}.json", progress=tick), None
