"""Budget: tolerable BER from a sweep, pulses for a BER, the ECC vs BNN table, optimizer."""

import numpy as np
import pytest

from mrambnn.experiments.budget_table import (
    budget_table,
    cheapest_condition,
    pulse_for_ber,
    scaled_delta,
    tolerable_ber,
)
from mrambnn.memory.cost import CostConfig
from mrambnn.memory.ecc_rates import residual_ber
from mrambnn.physics.energy import WriteCircuit
from mrambnn.physics.presets import get_preset
from mrambnn.physics.switching import write_error_rate

MTJ = get_preset("pmtj-40nm")
CIRCUIT = WriteCircuit()


def _sweep(means):
    bers = (0.0, 1e-4, 1e-3, 1e-2, 1e-1)
    return [{"ber": b, "mean": m} for b, m in zip(bers, means, strict=True)]


def test_tolerable_ber_interpolates_in_log_ber():
    points = _sweep([0.99, 0.99, 0.989, 0.983, 0.90])
    # 0.985 lies two thirds of the way from 1e-3 (0.989) to 1e-2 (0.983)
    assert tolerable_ber(points, 0.005) == pytest.approx(10 ** (-3 + 2 / 3))
    assert tolerable_ber(_sweep([0.99] * 5), 0.005) == 0.1
    with pytest.raises(ValueError, match="within the tolerance"):
        tolerable_ber(_sweep([0.99, 0.90, 0.9, 0.9, 0.9]), 0.005)
    with pytest.raises(ValueError, match="clean point"):
        tolerable_ber(_sweep([0.99] * 5)[1:], 0.005)


def test_pulse_reaches_its_ber_and_weaker_targets_cost_less():
    strong = pulse_for_ber(MTJ, CIRCUIT, 1e-6, width=10e-9, switching_fraction=0.5)
    weak = pulse_for_ber(MTJ, CIRCUIT, 1e-2, width=10e-9, switching_fraction=0.5)
    for point in (strong, weak):
        wers = [float(write_error_rate(MTJ, current=c, width=w, direction=d))
                for c, w, d in zip(point.currents, point.widths, ("ap2p", "p2ap"), strict=True)]
        assert np.allclose(wers, point.wer, rtol=1e-3)
    assert weak.energy_per_bit < strong.energy_per_bit
    assert weak.cell_area_f2 < strong.cell_area_f2
    with pytest.raises(ValueError, match="raw BER"):
        pulse_for_ber(MTJ, CIRCUIT, 0.3, width=10e-9, switching_fraction=0.5)


def test_budget_table_ratios_and_workload_trend():
    kwargs = dict(n_synapses=100_000, data_bits=102_400, bnn_ber=1e-2, mtj=MTJ,
                  circuit=CIRCUIT)
    write_heavy = budget_table(config=CostConfig(reads_per_write=1.0), **kwargs)
    read_heavy = budget_table(config=CostConfig(reads_per_write=1e5), **kwargs)
    rows = write_heavy.rows
    bnn = rows["none (weak, BNN)"]
    assert write_heavy.energy_ratio > 1 and write_heavy.area_ratio > 1
    # weak pulses write the same bits for less energy, in smaller cells
    assert bnn.cost.stored_bits == rows["none (strong)"].cost.stored_bits == 102_400
    assert bnn.cost.write < rows["none (strong)"].cost.write
    assert bnn.pulse.cell_area_f2 < rows["none (strong)"].pulse.cell_area_f2
    # a code stores its parity bits too
    assert rows["secded-72-64 (strong)"].cost.stored_bits == 102_400 * 72 // 64
    # reads dominate a read-heavy workload: the ratio tends to the parity + decoder overhead
    assert 1 < read_heavy.energy_ratio < write_heavy.energy_ratio
    assert read_heavy.area_ratio == pytest.approx(write_heavy.area_ratio)


def test_scaled_delta_keeps_the_efficiency():
    low = scaled_delta(MTJ, 40.0)
    assert low.delta == 40.0 and low.ic0_p2ap == pytest.approx(MTJ.ic0_p2ap * 40 / 60)


def test_optimizer_meets_the_tolerance_and_relaxing_it_never_costs_more():
    common = dict(n_synapses=100_000, data_bits=102_400, mtj=MTJ, circuit=CIRCUIT,
                  config=CostConfig(), widths=(5e-9, 10e-9, 20e-9),
                  codes=("none", "secded-72-64"))
    costs = []
    for tolerable in (1e-9, 1e-6, 1e-3):
        result = cheapest_condition(tolerable=tolerable, **common)
        for row in (result.best, *result.candidates):
            assert residual_ber(row.cost.code, row.pulse.raw_ber) <= tolerable * (1 + 1e-6)
        costs.append(result.best.cost.total_energy)
    assert costs[0] >= costs[1] >= costs[2]
    # a BNN that tolerates 1e-3 needs no code: parity would only add cells and reads
    assert cheapest_condition(tolerable=1e-3, **common).best.cost.code == "none"
