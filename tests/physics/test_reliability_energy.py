"""Read disturb, retention, sensing, energy and area against reference values."""

from dataclasses import replace

import numpy as np
import pytest

from mrambnn.physics.energy import (
    WriteCircuit,
    cell_area,
    energy_optimal_pulse,
    pulse_at,
    pulse_energy,
)
from mrambnn.physics.presets import PRESETS, get_preset
from mrambnn.physics.reliability import (
    read_disturb_probability,
    retention_failure,
    sensing_error,
)
from mrambnn.physics.switching import write_error_rate

MTJ60 = get_preset("pmtj-40nm")
TEN_YEARS = 10 * 365.25 * 24 * 3600


def test_read_disturb_reference_values() -> None:
    # docs/physics.md section 4 (derived): delta 60, i_r = 0.4, 10 ns: ~2e-15 (b = 1),
    # ~4e-9 (b = 2).
    read = {"current": 0.4 * MTJ60.ic0_p2ap, "duration": 10e-9}
    assert read_disturb_probability(replace(MTJ60, b=1.0), **read) == pytest.approx(2.3e-15,
                                                                                   rel=0.05)
    assert read_disturb_probability(MTJ60, **read) == pytest.approx(4.2e-9, rel=0.05)
    many = read_disturb_probability(MTJ60, **read, n_reads=10**6)
    assert many == pytest.approx(-np.expm1(-4.15e-3), rel=0.02)


@pytest.mark.parametrize(("delta", "p"), [(47.2, 1e-3), (61.0, 1e-9)])
def test_retention_delta_needed_for_ten_years(delta: float, p: float) -> None:
    # delta >= ln(t / tau0) + ln(1 / p): 10 years -> 47 (1e-3), 61 (1e-9).
    assert retention_failure(replace(MTJ60, delta=delta), time=TEN_YEARS) == pytest.approx(
        p, rel=0.1)


def test_retention_spread_is_averaged_not_plugged_in() -> None:
    mtj = replace(MTJ60, delta=50.0)
    mean_only = retention_failure(mtj, time=TEN_YEARS)
    spread = retention_failure(mtj, time=TEN_YEARS, delta_sigma=3.0)
    assert spread > 10 * mean_only  # the weak tail dominates


def test_sensing_error() -> None:
    # TMR 150 %, 5 % spread: margin (r_ap - r_p) / (2 sqrt(s_p^2 + s_ap^2)).
    expected_margin = 1.5 / (2 * np.hypot(0.05, 0.05 * 2.5))
    from scipy import stats
    assert sensing_error(MTJ60) == pytest.approx(stats.norm.sf(expected_margin), rel=1e-9)
    assert sensing_error(MTJ60, differential=True) < sensing_error(MTJ60)


def test_energy_reference_values() -> None:
    # docs/physics.md section 3 (Sun prefactor): delta 60, ic0 50 uA, i = 2, Vdd 0.9 V: 1e-3 ->
    # 11.9 ns, 1.07 pJ. The exact macrospin needs a shorter pulse (FPE < Sun), within 15 %.
    mtj = replace(MTJ60, ic0_p2ap=50e-6)
    pulse = pulse_at(mtj, WriteCircuit(c_bitline=0.0), wer=1e-3, current=100e-6)
    assert pulse.width == pytest.approx(11.9e-9, rel=0.15) and pulse.width < 11.9e-9
    assert pulse.energy == pytest.approx(0.9 * 100e-6 * pulse.width, rel=1e-12)


def test_cell_area_through_nvsim_sample_cells() -> None:
    circuit = WriteCircuit()
    for width_f, area in ((8.5, 57.5), (4.5, 34.5)):
        current = width_f * circuit.feature * circuit.derating * circuit.i_on
        assert cell_area(circuit, current) == pytest.approx(area, rel=1e-3)  # fit rounding


def test_weaker_target_is_cheaper_and_smaller() -> None:
    circuit = WriteCircuit()
    strong = energy_optimal_pulse(MTJ60, circuit, wer=1e-9)
    weak = energy_optimal_pulse(MTJ60, circuit, wer=1e-3)
    assert weak.energy < strong.energy
    capped = energy_optimal_pulse(MTJ60, circuit, wer=1e-3, max_reduced_current=2.0)
    assert capped.area_f2 < weak.area_f2


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="> 0 s"):
        pulse_energy(WriteCircuit(), current=1e-4, width=-1e-9)
    with pytest.raises(ValueError, match="pmtj-40nm, ikeda2010"):
        get_preset("nope")
    with pytest.raises(ValueError, match="writes, not reads"):
        read_disturb_probability(MTJ60, current=1e-3, duration=1e-9)


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_cited_and_gives_finite_results(name: str) -> None:
    mtj = PRESETS[name]
    assert mtj.source
    wer = write_error_rate(mtj, current=np.array([0.5, 1.5, 3.0]) * mtj.ic0_ap2p,
                           width=np.array([1e-9, 1e-8, 1e-7])[:, None], direction="ap2p")
    assert np.all(np.isfinite(wer)) and np.all((wer >= 0) & (wer <= 1))
