"""Monte Carlo evaluation: exact predictions of a packed network under many fault draws.

`DrawEvaluator` is the one entry point; it picks the batched dense, batched conv, general
incremental or full path (`mrambnn.montecarlo.evaluator`). The core engine never imports
this package.
"""

from mrambnn.montecarlo.evaluator import PATHS, DrawEvaluator

__all__ = ["PATHS", "DrawEvaluator"]
