"""Read a FINN / BNN-PYNQ network with 1-bit weights and activations from its published
per-processing-element files, into a `PackedNet` that computes what the hardware does.

The format, as BNN-PYNQ's weight generator (``finnthesizer.py``) and hardware define it:
- a layer of n neurons with s synapses each is folded onto P processing elements (PE) of
  S SIMD lanes: the (n, s) bit matrix (bit 1 = +1) is padded to multiples of P rows and S
  columns with 1 bits, neuron ``b P + p`` goes to PE p as its b-th neuron, and its
  synapses ``g S .. g S + S - 1`` form word ``b * (s / S) + g`` of ``L-p-weights.bin``
  (uint64 little-endian, synapse ``g S + j`` at bit j); padded inputs are 0 bits, so a
  padded synapse never counts;
- ``L-p-thres.bin`` holds the b-th neuron's threshold T (int64); a neuron outputs +1 when
  its accumulator exceeds T (``T < acc``): in binary layers the accumulator is the
  popcount P of matching bits (sum ``a = 2P - s``); in a first layer with fixed-point
  inputs it is the exact sum of inputs times +-1 weights, and T has ``threshold_fraction``
  fractional bits;
- weights of neurons whose BatchNorm scale is negative are stored negated, so every
  threshold compares upwards and 2x2 max-pooling of the output bits is their OR;
- the last layer has no thresholds: its class scores are the popcounts P.
Convolutions are 'valid' (no padding), stride 1, their synapses in (ky, kx, channel) order,
and the first dense layer's in (y, x, channel) order. The first layer sees the image
scaled to [-1, 1] (``2 pixel / 255 - 1``), rounded to ``input_fraction`` bits (round half
up, saturated) or, for binary inputs, its sign (+1 from 0).

`CNV_W1A1` and `LFC_W1A1` are the published topologies (layer sizes, PE and SIMD counts of
BNN-PYNQ's ``cifar10-gen-weights-W1A1.py`` and ``mnist-gen-weights-W1A1.py``).
"""

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mrambnn import __version__
from mrambnn.engine import Affine, PackedNet, Threshold
from mrambnn.engine.builder import ConvSpec, DenseSpec, LayerSpec, build_packed_net

__all__ = ["CNV_W1A1", "FinnFormatError", "FinnLayer", "FinnTopology", "LFC_W1A1",
           "TOPOLOGIES", "default_cnv_folder", "read_finn"]


class FinnFormatError(ValueError):
    """A FINN parameter folder that is missing, truncated or does not fit its topology."""


@dataclass(frozen=True)
class FinnLayer:
    """One matrix-vector unit: ``out`` neurons of ``fan_in`` synapses on ``pe`` x ``simd``;
    a conv layer has ``filter_size`` > 0 and pools its output bits 2x2 when ``pool``."""

    out: int
    fan_in: int
    pe: int
    simd: int
    filter_size: int = 0
    pool: bool = False


@dataclass(frozen=True)
class FinnTopology:
    """A published network: its layers, its (H, W, C) input and how the first layer sees
    it (``input_fraction`` fractional bits, 0 for binary inputs), and the fractional bits
    of its first layer's thresholds."""

    name: str
    input_shape: tuple[int, int, int]
    layers: tuple[FinnLayer, ...]
    input_fraction: int
    threshold_fraction: int
    dataset: str
    claimed_accuracy: float | None = None
    claim_source: str = ""


CNV_W1A1 = FinnTopology(
    name="cnvW1A1", input_shape=(32, 32, 3), dataset="cifar10",
    layers=(FinnLayer(64, 27, 16, 3, 3), FinnLayer(64, 576, 32, 32, 3, pool=True),
            FinnLayer(128, 576, 16, 32, 3), FinnLayer(128, 1152, 16, 32, 3, pool=True),
            FinnLayer(256, 1152, 4, 32, 3), FinnLayer(256, 2304, 1, 32, 3),
            FinnLayer(512, 256, 1, 4), FinnLayer(512, 512, 1, 8), FinnLayer(10, 512, 4, 1)),
    input_fraction=7, threshold_fraction=8, claimed_accuracy=0.7954,
    claim_source="BNN-PYNQ bnn/src/training/README.md: test error 20.46 % of the float "
    "training run")
LFC_W1A1 = FinnTopology(
    name="lfcW1A1", input_shape=(28, 28, 1), dataset="mnist",
    layers=(FinnLayer(1024, 784, 32, 64), FinnLayer(1024, 1024, 64, 32),
            FinnLayer(1024, 1024, 32, 64), FinnLayer(10, 1024, 16, 8)),
    input_fraction=0, threshold_fraction=0)
TOPOLOGIES = {t.name: t for t in (CNV_W1A1, LFC_W1A1)}


def default_cnv_folder() -> Path:
    """Where the published CNV W1A1 parameters are looked for: ``$MRAMBNN_BNN_PYNQ`` (the
    folder holding ``cnvW1A1``), else ``../shared/data/bnn-pynq`` beside the repository."""
    root = (Path(os.environ["MRAMBNN_BNN_PYNQ"]) if "MRAMBNN_BNN_PYNQ" in os.environ
            else Path(__file__).resolve().parents[3].parent / "shared" / "data" / "bnn-pynq")
    return root / "cnvW1A1"


def input_levels(topology: FinnTopology) -> np.ndarray:
    """(C, 256) what the first layer sees for each pixel value (module docstring)."""
    p = np.arange(256, dtype=np.int64)
    if topology.input_fraction == 0:
        levels = np.where(2 * p >= 255, 1, -1)  # 2 p / 255 - 1 >= 0
    else:
        f = topology.input_fraction
        # floor(2^f (2p/255 - 1) + 1/2) in integers, saturated to the signed (f+1)-bit range
        levels = np.clip((2**(f + 2) * p - 2**(f + 1) * 255 + 255) // 510, -2**f, 2**f - 1)
    return np.tile(levels, (topology.input_shape[2], 1))


def _read(path: Path, dtype: type, count: int) -> np.ndarray:
    if not path.is_file():
        raise FinnFormatError(f"{path} is missing")
    data = np.fromfile(path, dtype=np.dtype(dtype).newbyteorder("<"))
    if data.size != count or path.stat().st_size != count * 8:
        raise FinnFormatError(f"{path} holds {path.stat().st_size} bytes, the topology needs "
                              f"{count * 8}")
    return data


def _layer_arrays(folder: Path, index: int, layer: FinnLayer, last: bool
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """(out, fan_in) +-1 weights and (out,) thresholds (None for the last layer)."""
    groups = -(-layer.fan_in // layer.simd)
    weights_file = folder / f"{index}-0-weights.bin"
    if not weights_file.is_file():
        raise FinnFormatError(f"{weights_file} is missing")
    per_pe = weights_file.stat().st_size // 8 // groups  # neurons per PE, padding included
    if per_pe * layer.pe < layer.out:
        raise FinnFormatError(f"{weights_file}: {per_pe} neurons per PE cannot hold "
                              f"{layer.out} neurons on {layer.pe} PEs")
    rows = np.empty((per_pe * layer.pe, groups * layer.simd), np.uint8)
    thresholds = np.empty(per_pe * layer.pe, np.int64)
    lanes = np.arange(layer.simd, dtype=np.uint64)
    for p in range(layer.pe):
        words = _read(folder / f"{index}-{p}-weights.bin", np.uint64, per_pe * groups)
        bits = (words.reshape(per_pe, groups, 1) >> lanes) & np.uint64(1)
        rows[p::layer.pe] = bits.reshape(per_pe, -1)
        if not last:
            thresholds[p::layer.pe] = _read(folder / f"{index}-{p}-thres.bin", np.int64,
                                            per_pe)
    signs = rows[:layer.out, :layer.fan_in].astype(np.int8) * 2 - 1
    return signs, None if last else thresholds[:layer.out]


def read_finn(folder: Path | str, topology: FinnTopology = CNV_W1A1) -> PackedNet:
    """The network in ``folder`` (``L-p-weights.bin`` and ``L-p-thres.bin`` files) with
    ``topology``, evaluated as the hardware does (module docstring).

    Raises:
        FinnFormatError: a missing or truncated file, or sizes that do not fit.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FinnFormatError(f"{folder} is not a folder of FINN parameter files")
    specs: list[LayerSpec] = []
    shape = topology.input_shape
    for index, layer in enumerate(topology.layers):
        last = index == len(topology.layers) - 1
        signs, raw = _layer_arrays(folder, index, layer, last)
        if raw is None:  # scores: the popcounts P = (a + s) / 2
            head: Threshold | Affine = Affine(scale=np.full(layer.out, 0.5),
                                              offset=np.full(layer.out, layer.fan_in / 2))
        elif index == 0 and topology.input_fraction > 0:
            # acc = a 2^-fi > raw 2^-ft  <=>  a > raw 2^(fi - ft)  <=>  a >= floor(.) + 1
            shift = topology.threshold_fraction - topology.input_fraction
            head = Threshold(threshold=np.floor_divide(raw, 2**shift) + 1,
                             direction=np.ones(layer.out, np.int8))
        else:  # P > T  <=>  a > 2T - s
            head = Threshold(threshold=2 * raw - layer.fan_in + 1,
                             direction=np.ones(layer.out, np.int8))
        if layer.filter_size:
            k, c = layer.filter_size, shape[2]
            if k * k * c != layer.fan_in:
                raise FinnFormatError(f"layer {index}: {layer.fan_in} synapses do not make "
                                      f"{k} x {k} filters on {c} channels")
            specs.append(ConvSpec(weights=signs.reshape(layer.out, k, k, c), layout="ohwi",
                                  padding=0, pool="bits" if layer.pool else None, head=head))
            h, w = shape[0] - k + 1, shape[1] - k + 1
            shape = (h // 2, w // 2, layer.out) if layer.pool else (h, w, layer.out)
        else:
            specs.append(DenseSpec(weights=signs, head=head))
    metadata = {"source": f"FINN / BNN-PYNQ {topology.name} ({folder.name})",
                "architecture": topology.name, "dataset": topology.dataset,
                "importer": "finn", "package_version": __version__}
    if topology.claimed_accuracy is not None:
        metadata.update(claimed_accuracy=topology.claimed_accuracy,
                        claim_source=topology.claim_source)
    try:
        return build_packed_net(specs, input_shape=topology.input_shape,
                                input_levels=input_levels(topology), metadata=metadata)
    except ValueError as error:
        raise FinnFormatError(f"{folder}: {error}") from None
