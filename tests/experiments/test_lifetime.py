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
