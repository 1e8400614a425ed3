"""Experiments: deploy a packed network into a faulty memory, Monte Carlo sweeps, results."""

from mrambnn.experiments.deploy import corrupt_net
from mrambnn.experiments.results import read_json, write_atomic
from mrambnn.experiments.stats import MeanInterval, mean_interval
from mrambnn.experiments.sweep import (
    DEFAULT_BERS,
    BerPoint,
    SweepConfig,
    SweepResult,
    draw_rng,
    run_ber_sweep,
)

__all__ = [
    "DEFAULT_BERS",
    "BerPoint",
    "MeanInterval",
    "SweepConfig",
    "SweepResult",
    "corrupt_net",
    "draw_rng",
    "mean_interval",
    "read_json",
    "run_ber_sweep",
    "write_atomic",
]
