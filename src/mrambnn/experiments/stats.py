"""Summary statistics of Monte Carlo draws."""

from dataclasses import dataclass

import numpy as np
from scipy import stats

__all__ = ["MeanInterval", "binomial_interval", "exact_value", "json_number", "mean_interval"]


@dataclass(frozen=True, kw_only=True)
class MeanInterval:
    """Mean of n draws, sample standard deviation and a two-sided confidence interval."""

    mean: float
    std: float
    low: float
    high: float
    n: int


def mean_interval(values: np.ndarray, *, confidence: float = 0.95,
                  bounds: tuple[float, float] = (-np.inf, np.inf)) -> MeanInterval:
    """Student-t confidence interval of the mean of ``values`` (n,), clipped to ``bounds``
    (the range the quantity can take, e.g. (0, 1) for an accuracy).

    With one value no spread can be estimated: std and interval are NaN (unknown), not a
    zero-width interval that would look certain.
    """
    values = np.asarray(values, dtype=np.float64)
    n = values.size
    if n == 0:
        raise ValueError("need at least one value")
    mean = float(values.mean())
    if n == 1:
        return MeanInterval(mean=mean, std=np.nan, low=np.nan, high=np.nan, n=1)
    std = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * std / np.sqrt(n)
    low, high = np.clip((mean - half, mean + half), *bounds)
    return MeanInterval(mean=mean, std=std, low=float(low), high=float(high), n=n)


def exact_value(value: float, n: int) -> MeanInterval:
    """A value that n identical evaluations give (e.g. accuracy without faults): no
    spread, a zero-width interval."""
    return MeanInterval(mean=value, std=0.0, low=value, high=value, n=n)


def json_number(value: float) -> float | None:
    """``value`` for a JSON file: NaN (unknown) as null."""
    return None if np.isnan(value) else value


def binomial_interval(k: int, n: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval for a proportion with k successes in n trials."""
    interval = stats.binomtest(int(k), int(n)).proportion_ci(confidence_level=confidence,
                                                              method="exact")
    return float(interval.low), float(interval.high)
