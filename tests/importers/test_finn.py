"""FINN / BNN-PYNQ parameter files: the published CNV W1A1 network classifies CIFAR-10 as
published; files written by the format's rules (processing-element interleave, padded rows
and columns) read back into a network that computes what the hardware computes; broken
folders are one-line errors."""

import numpy as np
import pytest

from mrambnn.datasets import DataError, load_dataset
from mrambnn.engine import accuracy, forward
from mrambnn.importers.finn import (
    FinnFormatError,
    FinnLayer,
    FinnTopology,
    default_cnv_folder,
    input_levels,
    read_finn,
)

TOPOLOGY = FinnTopology(
    name="tiny", input_shape=(6, 6, 2), dataset="cifar10", input_fraction=7,
    threshold_fraction=8,
    layers=(FinnLayer(out=5, fan_in=18, pe=3, simd=4, filter_size=3, pool=True),  # 6 -> 4 -> 2
            FinnLayer(out=6, fan_in=20, pe=4, simd=8),
            FinnLayer(out=3, fan_in=6, pe=2, simd=2)))
PADDED_ROWS = (6, 8, 8)  # the last layer padded to more than its PEs need, as for AXI


def _write_layer(folder, index, bits, thresholds, layer, padded_rows):
    """Write an (out, fan_in) 0/1 matrix and (out,) thresholds as BNN-PYNQ lays them out."""
    groups = -(-layer.fan_in // layer.simd)
    padded = np.ones((padded_rows, groups * layer.simd), np.uint64)
    padded[:bits.shape[0], :bits.shape[1]] = bits
    words = (padded.reshape(padded_rows, groups, layer.simd)
             << np.arange(layer.simd, dtype=np.uint64)).sum(axis=2, dtype=np.uint64)
    per_pe = padded_rows // layer.pe
    for p in range(layer.pe):
        mine = words[p::layer.pe]  # neuron b * PE + p is PE p's b-th
        mine.astype("<u8").tofile(folder / f"{index}-{p}-weights.bin")
        if thresholds is not None:
            full = np.full(padded_rows, 2**15 - 1, np.int64)
            full[:len(thresholds)] = thresholds
            full[p::layer.pe].astype("<i8").tofile(folder / f"{index}-{p}-thres.bin")
        assert len(mine) == per_pe


def _hardware(images, bits, thresholds):
    """What the accelerator computes, written from the format's description: fixed-point
    inputs, 'valid' conv, acc > T, OR-pooling of bits, popcounts, argmax (first wins)."""
    levels = input_levels(TOPOLOGY)
    q = levels[np.arange(2), images].astype(np.int64)  # (N, 6, 6, 2), units 2^-7
    w0 = bits[0].reshape(5, 3, 3, 2) * 2 - 1
    acc = np.zeros((len(images), 4, 4, 5), np.int64)
    for ky in range(3):
        for kx in range(3):
            acc += np.einsum("nyxc,oc->nyxo", q[:, ky:ky + 4, kx:kx + 4], w0[:, ky, kx])
    h0 = 2 * acc > thresholds[0]  # acc 2^-7 > T 2^-8
    h0 = h0.reshape(len(images), 2, 2, 2, 2, 5).any(axis=(2, 4))
    matches = (h0.reshape(len(images), -1)[:, None, :] == bits[1][None].astype(bool)).sum(-1)
    h1 = matches > thresholds[1]
    scores = (h1[:, None, :] == bits[2][None].astype(bool)).sum(-1)
    return np.argmax(scores, axis=1), [h0, h1], scores


def test_files_written_by_the_format_read_back_as_the_hardware_computes(tmp_path) -> None:
    rng = np.random.default_rng(0)
    bits = [rng.integers(0, 2, (layer.out, layer.fan_in)) for layer in TOPOLOGY.layers]
    thresholds = [rng.integers(-300, 300, 5), rng.integers(6, 14, 6), None]
    for index, (layer, rows) in enumerate(zip(TOPOLOGY.layers, PADDED_ROWS, strict=True)):
        _write_layer(tmp_path, index, bits[index], thresholds[index], layer, rows)
    net = read_finn(tmp_path, TOPOLOGY)
    images = rng.integers(0, 256, (400, 6, 6, 2), dtype=np.uint8)
    labels, hidden, scores = _hardware(images, bits, thresholds)
    got, got_hidden = forward(net, images, keep_hidden=True)
    np.testing.assert_array_equal(got, scores)  # class scores are the popcounts
    np.testing.assert_array_equal(np.argmax(got, axis=1), labels)
    for mine, reference in zip(got_hidden, hidden, strict=True):
        np.testing.assert_array_equal(mine, reference)


def test_binary_input_topology_as_lfc(tmp_path) -> None:
    """An LFC-like all-dense network with binarized pixels (+1 from 2p/255 - 1 >= 0) and
    a first layer padded to a multiple of 64 synapses: popcount thresholds throughout."""
    topology = FinnTopology(name="lfc-like", input_shape=(5, 5, 1), dataset="mnist",
                            input_fraction=0, threshold_fraction=0,
                            layers=(FinnLayer(out=7, fan_in=25, pe=2, simd=8),
                                    FinnLayer(out=3, fan_in=7, pe=1, simd=7)))
    rng = np.random.default_rng(3)
    bits = [rng.integers(0, 2, (7, 25)), rng.integers(0, 2, (3, 7))]
    thresholds = rng.integers(8, 17, 7)
    _write_layer(tmp_path, 0, bits[0], thresholds, topology.layers[0], 8)
    _write_layer(tmp_path, 1, bits[1], None, topology.layers[1], 64)
    net = read_finn(tmp_path, topology)
    images = rng.integers(0, 256, (300, 5, 5, 1), dtype=np.uint8)
    x = images.reshape(300, 25) >= 128
    h = (x[:, None, :] == bits[0][None].astype(bool)).sum(-1) > thresholds
    scores = (h[:, None, :] == bits[1][None].astype(bool)).sum(-1)
    got, hidden = forward(net, images, keep_hidden=True)
    np.testing.assert_array_equal(hidden[0], h)
    np.testing.assert_array_equal(got, scores)


def test_pixel_coding_is_rounded_fixed_point_of_the_scaled_image() -> None:
    """2 p / 255 - 1 rounded half up to 7 fractional bits, saturated at 127 / 128."""
    levels = input_levels(TOPOLOGY)[0]
    p = np.arange(256)
    np.testing.assert_array_equal(levels, np.clip(np.floor((2 * p / 255 - 1) * 128 + 0.5),
                                                   -128, 127))
    assert (levels[0], levels[127], levels[128], levels[255]) == (-128, -1, 1, 127)


def test_published_cnv_w1a1_classifies_cifar10_as_published() -> None:
    """BNN-PYNQ's CNV W1A1 (claimed 79.54 % by its float training run) by the packed
    engine: 79.22 %, the accuracy of the hardware's arithmetic."""
    folder = default_cnv_folder()
    try:
        data = load_dataset("cifar10")
    except DataError as error:
        pytest.skip(f"CIFAR-10 is not on this machine: {error}")
    if not folder.is_dir():
        pytest.skip(f"the BNN-PYNQ parameters are not at {folder}")
    net = read_finn(folder)
    assert [type(layer).__name__ for layer in net.layers] == ["Conv"] * 6 + ["Dense"] * 3
    measured = accuracy(net, data.x_test, data.y_test)
    assert measured >= 0.785
    assert measured == pytest.approx(0.7922, abs=1e-12)


def test_broken_folders_are_one_line_errors(tmp_path) -> None:
    rng = np.random.default_rng(1)
    bits = [rng.integers(0, 2, (layer.out, layer.fan_in)) for layer in TOPOLOGY.layers]
    thresholds = [rng.integers(-300, 300, 5), rng.integers(6, 14, 6), None]
    for index, (layer, rows) in enumerate(zip(TOPOLOGY.layers, PADDED_ROWS, strict=True)):
        _write_layer(tmp_path, index, bits[index], thresholds[index], layer, rows)
    cases = []
    (tmp_path / "1-2-thres.bin").write_bytes((tmp_path / "1-2-thres.bin").read_bytes()[:-3])
    cases.append((tmp_path, "1-2-thres.bin holds"))
    missing = tmp_path / "copy"
    missing.mkdir()
    for path in tmp_path.glob("*.bin"):
        if path.name != "0-1-weights.bin":
            (missing / path.name).write_bytes(path.read_bytes())
    cases.append((missing, "0-1-weights.bin is missing"))
    cases.append((tmp_path / "nothing", "is not a folder"))
    for folder, message in cases:
        with pytest.raises(FinnFormatError) as error:
            read_finn(folder, TOPOLOGY)
        assert message in str(error.value) and "\n" not in str(error.value)
