"""Training loop: Adam with an exponentially decaying learning rate, resumable checkpoints.

Determinism: every random choice of epoch ``e`` (shuffle order, augmentation) comes from a
`torch.Generator` seeded with ``(seed, e)``, and the model is initialised from ``seed``, so
a run interrupted after any epoch and resumed from its checkpoint ends with the same
weights as an uninterrupted run.
"""

import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel

from mrambnn.datasets import Dataset
from mrambnn.engine import ModelFileError, PackedNet, load_packed_net
from mrambnn.nn.layers import StoredWeightFaults, binary_layers, clip_latent_weights
from mrambnn.nn.models import build_model, images_to_tensor
from mrambnn.nn.warm_start import load_packed_weights

__all__ = ["TrainConfig", "evaluate", "images_to_tensor", "recalibrate_batchnorm", "train"]


@dataclass(frozen=True, kw_only=True)
class TrainConfig:
    """Hyper-parameters of one training run (saved inside every checkpoint and model).

    Attributes:
        model: architecture name (`mrambnn.nn.MODEL_NAMES`).
        dataset: data set name.
        epochs: number of passes over the training set.
        batch_size: images per step.
        lr: initial Adam learning rate; decays exponentially to ``lr_final`` at the end.
        max_shift: random translation in pixels (augmentation, 0 = none).
        hflip: random horizontal flips (augmentation).
        seed: initialisation and data-order seed.
        init_from: checkpoint of an earlier run whose weights this run starts from instead
            of a random initialisation (a second training stage; "" = none). Its
            architecture must equal ``model``; its optimiser state is not used. A packed
            model file (``.npz``) of that architecture also serves: fine-tuning a shipped
            network (`mrambnn.nn.warm_start`).
        average_from: from this epoch (1-based) to the last, keep the running average of
            the latent weights after every step (stochastic weight averaging, Izmailov et
            al. 2018); the trained model is then that average, with its BatchNorm
            statistics recomputed over the training set (0 = no averaging).
        train_ber: error-aware training: every binary weight, first and last layers
            included, is read inverted with this probability in each training pass (a
            fresh pattern per step; `mrambnn.nn.layers.StoredWeightFaults`).
        train_wer_ap2p, train_wer_p2ap: error-aware training against write failures
            instead: a cell that must switch fails with its direction's write error rate
            (a weight +1 is bit 1, the parallel state: writing it is an AP -> P switch).
        train_prior: what the cells held before each write for the write-failure model:
            'random' (fair bits: half the cells must switch) or 'reset' (every cell at 0,
            AP: only the +1 weights switch).
    """

    model: str = "mlp-3x1024"
    dataset: str = "mnist"
    epochs: int = 50
    batch_size: int = 100
    lr: float = 5e-3
    lr_final: float = 2e-5
    max_shift: int = 2
    hflip: bool = False
    seed: int = 1
    init_from: str = ""
    average_from: int = 0
    train_ber: float = 0.0
    train_wer_ap2p: float = 0.0
    train_wer_p2ap: float = 0.0
    train_prior: str = "random"

    def __post_init__(self) -> None:
        for name in ("train_ber", "train_wer_ap2p", "train_wer_p2ap"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {value}")
        if self.train_ber and (self.train_wer_ap2p or self.train_wer_p2ap):
            raise ValueError("train with either a bit error rate (train_ber) or write "
                             "error rates (train_wer_*), not both")
        if self.train_prior not in ("random", "reset"):
            raise ValueError(f"unknown train_prior {self.train_prior!r}; choose random "
                             "or reset")
        if self.epochs < 1 or self.batch_size < 1:
            raise ValueError("epochs and batch_size must be >= 1")
        if not 0 <= self.average_from <= self.epochs:
            raise ValueError(f"average_from must be in [0, epochs = {self.epochs}] (0 = off)")
        if not 0 < self.lr_final <= self.lr:
            raise ValueError("need 0 < lr_final <= lr")
        if self.max_shift < 0:
            raise ValueError("max_shift must be >= 0")

    @property
    def error_aware(self) -> bool:
        """Whether weight faults are injected while training."""
        return bool(self.train_ber or self.train_wer_ap2p or self.train_wer_p2ap)

    def stored_flip_rates(self) -> tuple[float, float]:
        """(probability that a stored +1 reads -1, that a stored -1 reads +1) in training:
        the BER for both, or each direction's WER times the chance the cell must switch
        (1/2 from random content; from the reset state 0 only the +1 weights switch)."""
        if self.train_ber:
            return self.train_ber, self.train_ber
        if self.train_prior == "reset":
            return self.train_wer_ap2p, 0.0
        return self.train_wer_ap2p / 2, self.train_wer_p2ap / 2

    def lr_at(self, epoch: int) -> float:
        """Learning rate of epoch ``epoch`` (0-based)."""
        if self.epochs == 1:
            return self.lr
        return self.lr * (self.lr_final / self.lr) ** (epoch / (self.epochs - 1))


def _augment(batch: torch.Tensor, config: TrainConfig, generator: torch.Generator) -> torch.Tensor:
    """Random shift (zero padding, crop) and flip of uint8 images (B, H, W, C)."""
    if config.max_shift:
        s = config.max_shift
        b, h, w, _ = batch.shape
        padded = nn.functional.pad(batch, (0, 0, s, s, s, s))
        dy = torch.randint(0, 2 * s + 1, (b,), generator=generator)
        dx = torch.randint(0, 2 * s + 1, (b,), generator=generator)
        rows = (dy[:, None] + torch.arange(h))[:, :, None]  # (B, H, 1)
        cols = (dx[:, None] + torch.arange(w))[:, None, :]  # (B, 1, W)
        batch = padded[torch.arange(b)[:, None, None], rows, cols]
    if config.hflip:
        flip = torch.rand(len(batch), generator=generator) < 0.5
        batch = torch.where(flip[:, None, None, None], batch.flip(2), batch)
    return batch


def evaluate(model: nn.Module, images: np.ndarray, labels: np.ndarray,
             *, batch_size: int = 1000, dtype: torch.dtype = torch.float32) -> float:
    """Test accuracy of ``model`` in eval mode (computed in ``dtype``)."""
    model = model.to(dtype).eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(images), batch_size):
            x = images_to_tensor(images[i : i + batch_size], model).to(dtype)
            correct += int((model(x).argmax(1).numpy() == labels[i : i + batch_size]).sum())
    model.to(torch.float32)
    return correct / len(images)


def recalibrate_batchnorm(model: nn.Module, images: np.ndarray, *, batch_size: int = 500,
                          augment: TrainConfig | None = None,
                          read_flips: tuple[float, float] = (0.0, 0.0)) -> nn.Module:
    """Replace every BatchNorm's running statistics by averages over ``images``.

    Running averages with momentum follow the last few hundred batches and are noisy
    for binary activations; one pass over the training images in train mode, with a
    cumulative average, gives the statistics the weights actually induce (PyTorch
    averages per-batch statistics with equal weights: exact for the mean when the
    batches are equal). With ``augment``, each batch first gets that configuration's
    augmentation (seeded by its ``seed``), as in a training epoch: the statistics the
    layers saw in training (the recipe of stochastic weight averaging, whose
    ``update_bn`` runs over the training loader).
    ``read_flips`` = (p_plus, p_minus): the binary weights are read as from a faulty
    memory meanwhile (`StoredWeightFaults`, a fresh pattern per batch, seeded), so that
    the statistics, hence the folded thresholds, are those of the network as it will run
    in that memory rather than error-free (error-aware training; (0, 0): exact weights).
    The weights are untouched; the model is returned in eval mode.
    """
    norms = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None
    model.train()
    seed = 0 if augment is None else augment.seed
    generator = torch.Generator().manual_seed(seed)
    if any(read_flips):
        faults = StoredWeightFaults(p_plus=read_flips[0], p_minus=read_flips[1],
                                    generator=torch.Generator().manual_seed(seed ^ FAULT_STREAM))
        for layer in binary_layers(model):
            layer.faults = faults
    try:
        with torch.no_grad():
            for i in range(0, len(images), batch_size):
                batch = torch.as_tensor(images[i : i + batch_size])
                if augment is not None:
                    batch = _augment(batch, augment, generator)
                model(images_to_tensor(batch, model))
    finally:
        for layer in binary_layers(model):
            layer.faults = None
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum
    return model.eval()


def _save_checkpoint(path: Path, state: dict) -> None:
    temporary = path.with_suffix(".tmp")
    torch.save(state, temporary)
    os.replace(temporary, path)


def _read_checkpoint(path: Path) -> dict:
    """A training checkpoint's state (never unpickled: ``weights_only``); a file that is
    not one raises ValueError naming it."""
    if not path.is_file():
        raise ValueError(f"checkpoint {path} is not a regular file")
    try:
        state = torch.load(path, weights_only=True)
    except Exception as error:  # torch raises many kinds for a foreign or truncated file
        raise ValueError(f"checkpoint {path} is not a readable mrambnn training checkpoint: "
                         f"{type(error).__name__}") from error
    if not isinstance(state, dict) or "config" not in state:
        raise ValueError(f"checkpoint {path} is not a mrambnn training checkpoint")
    return state


def _initial_weights(path: Path, architecture: str) -> dict:
    """Model weights of the training checkpoint ``path``, checked to be of ``architecture``."""
    if not path.is_file():
        raise ValueError(f"init_from: no checkpoint at {path}")
    try:
        state = torch.load(path, weights_only=True)
        found = state["config"]["model"]
        weights = state["model"]
    except Exception as error:
        raise ValueError(f"init_from: {path} is not a training checkpoint of mrambnn") from error
    if found != architecture:
        raise ValueError(f"init_from: {path} holds a {found!r} model, not {architecture!r}")
    return weights


FAULT_STREAM = 0x5EED_FA17  # mixed into the seed of the flip patterns' stream
PROGRESS_SECONDS = 60.0  # within an epoch, a progress line at most this often


def _duration(seconds: float) -> str:
    """'2 h 05 min', '7 min', '40 s'."""
    if seconds >= 3600:
        return f"{int(seconds // 3600)} h {int(seconds % 3600 // 60):02d} min"
    return f"{seconds / 60:.0f} min" if seconds >= 60 else f"{seconds:.0f} s"


def _attach_faults(model: nn.Module, config: TrainConfig, epoch: int
                   ) -> StoredWeightFaults | None:
    """Give every binary layer of ``model`` the training faults of ``config`` for epoch
    ``epoch`` (0-based), one stream of their own seeded by (seed, epoch), so that the
    data order and augmentation are those of training without faults and a resumed run
    draws the same patterns. None (and no faults) when ``config`` is not error-aware."""
    faults = None
    if config.error_aware:
        p_plus, p_minus = config.stored_flip_rates()
        generator = torch.Generator().manual_seed((config.seed * 100_003 + epoch) ^ FAULT_STREAM)
        faults = StoredWeightFaults(p_plus=p_plus, p_minus=p_minus, generator=generator)
    for layer in binary_layers(model):
        layer.faults = faults
    return faults


def _packed_start(path: Path, architecture: str) -> PackedNet:
    """The packed model file ``path`` to fine-tune, checked to be of ``architecture``
    when its metadata names one."""
    try:
        net = load_packed_net(path)
    except (ModelFileError, OSError) as error:
        raise ValueError(f"init_from: {error}") from error
    found = net.metadata.get("architecture")
    if found is not None and found != architecture:
        raise ValueError(f"init_from: {path} holds a {found!r} model, not {architecture!r}")
    return net


def train(
    config: TrainConfig,
    data: Dataset,
    *,
    checkpoint: Path | None = None,
    stop_after: int | None = None,
    threads: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[nn.Module, list[dict]]:
    """Train ``config.model`` on ``data``; resume from ``checkpoint`` if it exists.

    Args:
        checkpoint: file rewritten atomically after every epoch (None: no checkpoints).
        stop_after: stop after this many epochs in total (to simulate an interruption).
        threads: torch CPU threads (None: leave torch's setting).
        progress: called with a one-line summary after each epoch, and with a progress
            line at most every `PROGRESS_SECONDS` within an epoch; both give the time left
            (estimated from this run's own pace, a resumed run's too).
    Returns:
        the trained model (eval mode; with ``config.average_from``, the averaged weights
        with recalibrated BatchNorm) and the per-epoch history (epoch, lr, train loss,
        test accuracy of the current, not averaged, weights, seconds).
    """
    if threads is not None:
        torch.set_num_threads(threads)
    torch.manual_seed(config.seed)
    model = build_model(config.model, data.image_shape, len(data.classes))
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    history: list[dict] = []
    start_epoch = 0
    averaged: AveragedModel | None = None
    if checkpoint is not None and checkpoint.exists():
        state = _read_checkpoint(checkpoint)
        if state["config"] != asdict(config):
            raise ValueError(f"checkpoint {checkpoint} was made with another configuration")
        try:
            model.load_state_dict(state["model"])
            optimizer.load_state_dict(state["optimizer"])
            history, start_epoch = list(state["history"]), int(state["epoch"])
            if "averaged" in state:  # stopped inside the averaging window
                averaged = AveragedModel(model)
                averaged.load_state_dict(state["averaged"])
        except (KeyError, TypeError, ValueError, RuntimeError) as error:
            raise ValueError(f"checkpoint {checkpoint} is corrupt: {error}") from error
    elif config.init_from.endswith(".npz"):
        load_packed_weights(model, _packed_start(Path(config.init_from), config.model),
                            data.x_train)
    elif config.init_from:
        model.load_state_dict(_initial_weights(Path(config.init_from), config.model))
    x_train = torch.as_tensor(data.x_train)
    y_train = torch.as_tensor(data.y_train.astype(np.int64))
    loss_fn = nn.CrossEntropyLoss()
    last_epoch = config.epochs if stop_after is None else min(config.epochs, stop_after)
    run_began = time.perf_counter()
    for epoch in range(start_epoch, last_epoch):
        began = time.perf_counter()
        said = began
        generator = torch.Generator().manual_seed(config.seed * 100_003 + epoch)
        for group in optimizer.param_groups:
            group["lr"] = config.lr_at(epoch)
        if config.average_from and epoch + 1 >= config.average_from and averaged is None:
            averaged = AveragedModel(model)
        model.train()
        faults = _attach_faults(model, config, epoch)
        order = torch.randperm(len(x_train), generator=generator)
        total_loss, n_batches = 0.0, math.ceil(len(order) / config.batch_size)
        for b in range(n_batches):
            index = order[b * config.batch_size : (b + 1) * config.batch_size]
            batch = _augment(x_train[index], config, generator)
            loss = loss_fn(model(images_to_tensor(batch, model)), y_train[index])
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            clip_latent_weights(model)
            if averaged is not None:
                averaged.update_parameters(model)
            total_loss += float(loss.detach())
            if progress is not None and time.perf_counter() - said >= PROGRESS_SECONDS:
                said = time.perf_counter()
                done = epoch - start_epoch + (b + 1) / n_batches  # epochs run here
                left = (said - run_began) / done * (last_epoch - start_epoch - done)
                progress(f"epoch {epoch + 1}/{config.epochs}: {100 * (b + 1) / n_batches:.0f} "
                         f"% of its batches, loss {total_loss / (b + 1):.4f}; "
                         f"{_duration(left)} left")
        for layer in binary_layers(model):  # evaluation, averaging and export read exactly
            layer.faults = None
        test_accuracy = evaluate(model, data.x_test, data.y_test)
        record = {"epoch": epoch + 1, "lr": config.lr_at(epoch), "loss": total_loss / n_batches,
                  "test_accuracy": test_accuracy, "seconds": time.perf_counter() - began}
        if faults is not None:
            record["weights_read_inverted"] = faults.flipped / max(faults.read, 1)
        history.append(record)
        if progress is not None:
            left = ((time.perf_counter() - run_began) / (epoch + 1 - start_epoch)
                    * (last_epoch - epoch - 1))
            progress(f"epoch {epoch + 1}/{config.epochs} loss {record['loss']:.4f} "
                     f"test {100 * test_accuracy:.2f} % ({record['seconds']:.0f} s; "
                     f"{_duration(left)} left)")
        if checkpoint is not None:
            state = {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                     "epoch": epoch + 1, "history": history, "config": asdict(config)}
            if averaged is not None:
                state["averaged"] = averaged.state_dict()
            _save_checkpoint(checkpoint, state)
    if averaged is None or last_epoch < config.epochs:
        return model.eval(), history
    return _averaged_model(model, averaged, data, config, progress), history


def _averaged_model(model: nn.Module, averaged: AveragedModel, data: Dataset,
                    config: TrainConfig, progress: Callable[[str], None] | None) -> nn.Module:
    """``model`` with the averaged weights and BatchNorm statistics recomputed for them
    over one augmented pass of the training set (`recalibrate_batchnorm`)."""
    if progress is not None:
        last = evaluate(recalibrate_batchnorm(model, data.x_train, augment=config),
                        data.x_test, data.y_test)
        progress(f"last weights, recalibrated BatchNorm: test {100 * last:.2f} %")
    model.load_state_dict(averaged.module.state_dict())
    recalibrate_batchnorm(model, data.x_train, augment=config)
    if progress is not None:
        mean = evaluate(model, data.x_test, data.y_test)
        progress(f"weights averaged over epochs {config.average_from}-{config.epochs} "
                 f"({int(averaged.n_averaged)} steps), recalibrated BatchNorm: "
                 f"test {100 * mean:.2f} %")
    return model.eval()
