"""Experiments: deploy a packed network into a faulty memory, Monte Carlo sweeps of
accuracy against BER and write energy, the system budget, and the main job."""

from mrambnn.experiments.ber_sweep import (
    DEFAULT_BERS,
    BerPoint,
    SweepConfig,
    SweepResult,
    run_ber_sweep,
)
from mrambnn.experiments.deploy import corrupt_net
from mrambnn.experiments.draws import DrawPlan, draw_rng, evaluate_points
from mrambnn.experiments.results import read_json, write_atomic
from mrambnn.experiments.stats import MeanInterval, mean_interval

__all__ = [
    "DEFAULT_BERS",
    "BerPoint",
    "DrawPlan",
    "MeanInterval",
    "SweepConfig",
    "SweepResult",
    "corrupt_net",
    "draw_rng",
    "evaluate_points",
    "mean_interval",
    "read_json",
    "run_ber_sweep",
    "write_atomic",
]
