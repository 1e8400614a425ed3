"""Summary statistics of Monte Carlo draws."""

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["MeanInterval", "binomial_interval", "mean_interval"]


@dataclass(frozen=True, kw_only=True)
class MeanInterval:
    """Mean of n draws, sample standard deviation and a two-sided confidence interval."""

    mean: float
    std: float
    low: float
    high: float
    n: int


def mean_interval(values: np.ndarray, *, confidence: float = 0.95) -> MeanInterval:
    """Student-t confidence interval of the mean of ``values`` (n,).

    With one value the interval collapses to the value (no spread can be estimated).
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n == 0:
        raise ValueError("need at least one value")
    mean = float(values.mean())
    if n == 1:
        return MeanInterval(mean=mean, std=0.0, low=mean, high=mean, n=1)
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / np.sqrt(n)
    return MeanInterval(mean=mean, std=std, low=mean - half, high=mean + half, n=n)


def binomial_interval(k: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval for a proportion with k successes in n trials."""
    interval = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence,
                                                              method="exact")
    return float(interval.low), float(interval.high)
