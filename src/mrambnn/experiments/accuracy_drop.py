"""Where an accuracy curve crosses a target: the tolerable BER and the write energy at a
given accuracy drop are both one crossing, interpolated in the log of the grid value."""

from collections.abc import Sequence

import numpy as np

__all__ = ["log_crossing"]


def log_crossing(xs: Sequence[float], accuracies: Sequence[float], target: float, *,
                 rising: bool) -> float | None:
    """The grid value where the accuracy first crosses ``target``, walking ``xs`` in order.

    A crossing is a consecutive pair with ``a0 >= target > a1`` (falling) or, when
    ``rising``, ``a0 < target <= a1``; the value is interpolated linearly in log(x)
    between the pair. None where no pair crosses.

    Args:
        xs: (n,) grid values > 0 in walking order (e.g. increasing BER, increasing energy).
        accuracies: (n,) mean accuracies at ``xs``.
        target: the accuracy to cross (e.g. clean accuracy - tolerance).
        rising: look for the accuracy rising through ``target`` instead of falling.
    """
    pairs = zip(zip(xs, accuracies, strict=True), zip(xs[1:], accuracies[1:], strict=True),
                strict=False)
    for (x0, a0), (x1, a1) in pairs:
        crosses = a0 < target <= a1 if rising else a0 >= target > a1
        if crosses:
            f = (a0 - target) / (a0 - a1)
            return float(np.exp(np.log(x0) + f * (np.log(x1) - np.log(x0))))
    return None
