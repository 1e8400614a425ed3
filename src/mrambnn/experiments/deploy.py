"""Deploy a `PackedNet` into a memory that corrupts its stored weight words."""

from collections.abc import Sequence

import numpy as np

from mrambnn.engine import PackedNet
from mrambnn.memory import FaultModel

__all__ = ["check_layers", "corrupt_net"]


def check_layers(net: PackedNet, layers: Sequence[int] | None) -> tuple[int, ...]:
    """Validated indices of the exposed layers (None = all)."""
    if layers is None:
        return tuple(range(len(net.layers)))
    chosen = tuple(int(i) for i in layers)
    bad = [i for i in chosen if not 0 <= i < len(net.layers)]
    if bad:
        raise ValueError(f"layer index {bad[0]} out of range; the network has layers "
                         f"0..{len(net.layers) - 1}")
    return chosen


def corrupt_net(
    net: PackedNet,
    fault: FaultModel,
    *,
    layers: Sequence[int] | None = None,
    rng: np.random.Generator,
) -> PackedNet:
    """The network as read back after storing its weights under ``fault``.

    Args:
        layers: indices of the layers whose weights are exposed (None = all); the others
            are kept exact (e.g. stored in a reliable memory).
        rng: the random stream of this draw; layers consume it in order.
        fault: a `FaultModel`, or a layer-aware channel of a chip with per-cell
            parameters (``corrupt_layer(index, words, n_bits, rng=)``,
            `mrambnn.memory.cell_faults`).
    """
    exposed = set(check_layers(net, layers))
    by_layer = getattr(fault, "corrupt_layer", None)  # per-cell channels know each layer
    words = [
        (by_layer(i, layer.weight_words, layer.in_features, rng=rng) if by_layer
         else fault.corrupt(layer.weight_words, layer.in_features, rng=rng))
        if i in exposed else layer.weight_words
        for i, layer in enumerate(net.layers)
    ]
    return net.with_weight_words(words)
