"""How the report writes measured numbers."""

import numpy as np

__all__ = ["duration", "percent_interval"]


def percent_interval(low: float, high: float) -> str:
    """``[low, high]`` of fractions, in percent; 'n/a (one draw)' where the interval is
    unknown (NaN: a single draw has no spread to estimate)."""
    if np.isnan(low):
        return "n/a (one draw)"
    return f"[{100 * low:.2f}, {100 * high:.2f}]"


def duration(seconds: float | None) -> str:
    """A time span in the unit a reader thinks in: '41 s', '3.2 h', '102 d', '4.1 y';
    'never' for infinity, 'n/a' for None."""
    if seconds is None:
        return "n/a"
    if np.isinf(seconds):
        return "never"
    for unit, size in (("y", 365.25 * 86400.0), ("d", 86400.0), ("h", 3600.0),
                       ("min", 60.0), ("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= size:
            value = seconds / size
            return f"{value:.3g} {unit}"
    return f"{seconds:.2g} s"
