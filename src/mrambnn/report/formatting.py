"""How the report writes measured numbers."""

import numpy as np

__all__ = ["percent_interval"]


def percent_interval(low: float, high: float) -> str:
    """``[low, high]`` of fractions, in percent; 'n/a (one draw)' where the interval is
    unknown (NaN: a single draw has no spread to estimate)."""
    if np.isnan(low):
        return "n/a (one draw)"
    return f"[{100 * low:.2f}, {100 * high:.2f}]"
