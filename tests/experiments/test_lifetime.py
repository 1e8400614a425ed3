"""Accuracy after writing: retention flips take a low-delta network down long before a
high-delta one; the refresh interval and its energy follow."""

import numpy as np
import pytest

from mrambnn.experiments.lifetime import (
    YEAR,
    LifetimeConfig,
    refresh_energy_per_hour,
    run_lifetime,
)
from mrambnn.physics.presets import get_preset
from mrambnn.physics.reliability import retention_failure


def test_lower_delta_loses_accuracy_sooner(make_toy) -> None:
    net, images, labels = make_toy(128, 300)  # labels: the clean predictions (100 %)
    mtj = get_preset("pmtj-40nm")
    times = tuple(float(t) for t in np.geomspace(1e-3, YEAR, 10))
    config = LifetimeConfig(deltas=(22.0, 32.0, 60.0), times=times, n_draws=3)
    low, mid, high = run_lifetime(net, images, labels, mtj, config)
    assert low.clean == 1.0
    assert [low.summary(i).mean for i in (0, 9)][1] < 0.5  # half the cells flipped
    assert all(high.summary(i).mean == 1.0 for i in range(10))  # delta 60: nothing in a year
    interval_low, interval_mid = low.refresh_interval(), mid.refresh_interval()
    assert interval_low is not None and interval_mid is not None
    assert interval_low < interval_mid < YEAR and high.refresh_interval() == YEAR
    # where the low-delta curve crosses, a few percent of the cells have flipped
    p = retention_failure(mtj.__class__(**{**mtj.__dict__, "delta": 22.0}), time=interval_low)
    assert 1e-4 < p < 0.2
    assert refresh_energy_per_hour(3600.0, 1000, 1e-13) == pytest.approx(1e-10)
    with pytest.raises(ValueError, match="increase"):
        LifetimeConfig(times=(2.0, 1.0))


def test_retention_curve_from_a_sweep_moves_each_point_to_its_time(make_toy) -> None:
    """Without spread, retention at time t is a uniform BER: the sweep's points, placed at
    `retention_time`, agree with a Monte Carlo lifetime run at those times."""
    from mrambnn.experiments.ber_sweep import SweepConfig, run_ber_sweep
    from mrambnn.experiments.lifetime import curves_from_sweep, retention_time
    from mrambnn.physics.reliability import retention_bit_error

    net, images, labels = make_toy(128, 300)
    mtj = get_preset("pmtj-40nm")
    sweep = run_ber_sweep(net, images, labels,
                          SweepConfig(bers=(0.0, 1e-3, 1e-2, 0.1), n_draws=30))
    curve, = curves_from_sweep(sweep, mtj, [30.0])
    device = mtj.__class__(**{**mtj.__dict__, "delta": 30.0})
    for time, ber in zip(curve.times, (1e-3, 1e-2, 0.1), strict=True):
        assert retention_bit_error(device, time=time) == pytest.approx(ber, rel=1e-9)
    assert curve.accuracies[2] == sweep.point(0.1).accuracies
    assert retention_time(device, 0.5) == float("inf")
    config = LifetimeConfig(deltas=(30.0,), times=curve.times, n_draws=30)
    direct, = run_lifetime(net, images, labels, mtj, config)
    for i in range(3):  # two independent estimates of the same mean
        a, b = curve.summary(i), direct.summary(i)
        assert abs(a.mean - b.mean) < 4 * np.hypot(a.std, b.std) / np.sqrt(30) + 1e-9
    with pytest.raises(ValueError, match="every layer"):
        curves_from_sweep(run_ber_sweep(net, images, labels, SweepConfig(
            bers=(0.0, 1e-2), n_draws=2, layers=(0,))), mtj, [30.0])


def test_a_sweep_after_writing_adds_retention_to_every_draw(make_toy) -> None:
    """A BER sweep some time after writing: at BER 0 the accuracy is the lifetime run's
    at that time (same chip, same channel); without time it is the plain sweep, draw for
    draw; its result file reads back with the after-write settings."""
    from mrambnn.experiments.after_write import AfterWrite
    from mrambnn.experiments.ber_sweep import SweepConfig, SweepResult, run_ber_sweep

    net, images, labels = make_toy(128, 300)
    plain = run_ber_sweep(net, images, labels, SweepConfig(bers=(0.0, 1e-2), n_draws=4))
    still = run_ber_sweep(net, images, labels, SweepConfig(
        bers=(0.0, 1e-2), n_draws=4, after=AfterWrite(time=0.0)))
    assert still.points == plain.points
    aged = AfterWrite(time=3e3, delta=25.0, spread="pmtj-array", chip_seed=2)
    config = SweepConfig(bers=(0.0, 1e-2), n_draws=4, after=aged)
    result = run_ber_sweep(net, images, labels, config)
    assert result.point(0.0).summary().mean < 0.95  # retention at delta 25 for 50 min
    assert result.point(1e-2).summary().mean < plain.point(1e-2).summary().mean
    again = SweepResult.from_dict(result.to_dict())
    assert again.config == config and again.points == result.points
    with pytest.raises(ValueError, match="reaches ic0"):
        AfterWrite(reads=10, read_current=1.0)
