"""Programming a network with weak pulses: physics -> write failures -> accuracy."""

import json

import numpy as np
import pytest

from mrambnn.bits import pack_signs
from mrambnn.experiments.energy_sweep import (
    EnergySweepConfig,
    energy_at_accuracy_drop,
    run_energy_sweep,
)
from mrambnn.memory.mram import MRAM, WritePulseCondition
from mrambnn.physics.presets import get_preset
from mrambnn.physics.switching import write_error_rate

MTJ = get_preset("pmtj-40nm")


@pytest.fixture(scope="module")
def toy(make_toy):
    return make_toy(128, 400)


def test_mram_uses_each_direction_wer() -> None:
    mram = MRAM(mtj=MTJ)
    pulse = WritePulseCondition(current=90e-6, width=10e-9)
    ap2p, p2ap = mram.write_error_rates(pulse)
    assert ap2p < p2ap  # AP->P has the lower critical current
    assert p2ap == pytest.approx(float(write_error_rate(MTJ, current=90e-6, width=10e-9)))
    words = pack_signs(np.random.default_rng(1).choice(np.array([-1, 1], np.int8), (500, 400)))
    stored = mram.store(words, 400, pulse, rng=np.random.default_rng(2))
    flips = int(np.bitwise_count(stored ^ words).sum())
    expected = 500 * 400 * (ap2p + p2ap) / 4  # random prior: a quarter of cells per direction
    assert abs(flips - expected) < 5 * np.sqrt(expected)


def test_energy_sweep_accuracy_rises_with_energy(toy, tmp_path) -> None:
    net, images, labels = toy
    config = EnergySweepConfig(width=10e-9, currents=(70e-6, 100e-6, 200e-6), n_draws=3)
    out = tmp_path / "e.json"
    result = run_energy_sweep(net, images, labels, MRAM(mtj=MTJ), config, out=out)
    means = [p.summary.mean for p in result.points]
    energies = [p.energy_per_bit for p in result.points]
    assert energies == sorted(energies) and means[0] < means[-1]
    assert means[-1] == pytest.approx(1.0, abs=1e-3)  # 1e-10 WER: essentially exact
    saved = json.loads(out.read_text())
    assert saved["kind"] == "energy_sweep"
    assert [r["mean"] for r in saved["points"]] == means
    marked = energy_at_accuracy_drop(result, clean_accuracy=1.0, drop=0.005)
    assert marked is not None and energies[0] < marked <= energies[-1]


def test_bad_pulse_is_rejected() -> None:
    with pytest.raises(ValueError, match="> 0 A"):
        WritePulseCondition(current=-1e-6, width=1e-9)
    with pytest.raises(ValueError, match="> 0 s"):
        EnergySweepConfig(width=0.0)


def test_energy_sweep_over_a_chip_with_variability(toy) -> None:
    """Without spread the chip path is the nominal path; with spread the chip's mean WER
    and the accuracies change, and the same chip seed gives the same sweep."""
    net, images, labels = toy
    mram = MRAM(mtj=MTJ)
    base = EnergySweepConfig(width=10e-9, currents=(80e-6, 100e-6), n_draws=3)
    nominal = run_energy_sweep(net, images, labels, mram, base)
    with pytest.raises(ValueError, match="unknown spread"):
        EnergySweepConfig(spread="huge")
    spread = EnergySweepConfig(width=10e-9, currents=(80e-6, 100e-6), n_draws=3,
                               spread="pmtj-array", chip_seed=4)
    varied = run_energy_sweep(net, images, labels, mram, spread)
    again = run_energy_sweep(net, images, labels, mram, spread)
    assert varied.points == again.points
    for a, b in zip(nominal.points, varied.points, strict=True):
        assert a.energy_per_bit == b.energy_per_bit
        assert a.wer_p2ap != b.wer_p2ap and 0.3 < b.wer_p2ap / a.wer_p2ap < 3
    assert any(a.accuracies != b.accuracies for a, b in zip(nominal.points, varied.points,
                                                             strict=True))
