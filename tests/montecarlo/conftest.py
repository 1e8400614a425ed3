"""Shared check of the Monte Carlo tests: pruned, unpruned and full evaluation agree."""

from collections.abc import Callable

import numpy as np
import pytest

from mrambnn.engine import PackedNet, predict


def _agree(evaluator_class: Callable, net: PackedNet, images: np.ndarray,
           nets: list[PackedNet], label: str = "") -> None:
    words = [f.weight_words for f in nets]
    pruned = evaluator_class(net, images).predict_draws(words)
    np.testing.assert_array_equal(
        evaluator_class(net, images, prune=False).predict_draws(words), pruned)
    for d, faulty in enumerate(nets):
        np.testing.assert_array_equal(pruned[d], predict(faulty, images),
                                      err_msg=f"{label} draw {d}")


@pytest.fixture(scope="session")
def pruned_unpruned_full_agree() -> Callable:
    """``check(evaluator_class, net, images, faulty_nets, label="")``: the evaluator's
    predictions with and without pruning are equal, and equal `predict` on each faulty net
    (``label`` names the case in a failure)."""
    return _agree
