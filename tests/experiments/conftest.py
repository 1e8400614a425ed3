"""A random two-layer packed network and images labelled by its own clean predictions."""

import numpy as np
import pytest

from mrambnn.bits import pack_signs
from mrambnn.engine import Affine, Dense, PackedNet, Threshold, predict


@pytest.fixture(scope="module")
def make_toy():
    def build(hidden: int, n_images: int):
        rng = np.random.default_rng(0)
        w1 = pack_signs(rng.choice(np.array([-1, 1], np.int8), (hidden, 49)))
        w2 = pack_signs(rng.choice(np.array([-1, 1], np.int8), (4, hidden)))
        net = PackedNet(layers=(
            Dense(weight_words=w1, in_features=49, integer_input=True,
                  head=Threshold(threshold=np.zeros(hidden, np.int64),
                                 direction=np.ones(hidden, np.int8))),
            Dense(weight_words=w2, in_features=hidden, integer_input=False,
                  head=Affine(scale=np.ones(4), offset=np.zeros(4)))), input_shape=(7, 7, 1),
            metadata={"dataset": "toy"})
        images = rng.integers(0, 256, (n_images, 7, 7, 1), dtype=np.uint8)
        return net, images, predict(net, images)

    return build
