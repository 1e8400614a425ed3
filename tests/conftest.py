"""Shared fixtures: a cache folder of the session, the MNIST data (fetched by
scripts/setup.sh), a seeded generator, the kernels' thread count for one test, and a
random two-layer packed network with images labelled by its own clean predictions."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest

from mrambnn.bits import pack_signs
from mrambnn.datasets import DataError, load_dataset
from mrambnn.engine import Affine, Dense, PackedNet, Threshold, predict
from mrambnn.engine.threads import kernel_threads


@pytest.fixture(scope="session", autouse=True)
def path_cache(tmp_path_factory) -> Iterator[Path]:
    """The measured Monte Carlo path crossovers (`mrambnn.montecarlo.path_choice`) go to a
    folder of this test session, shared with the commands the tests run, not the user's."""
    folder = tmp_path_factory.mktemp("mrambnn-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MRAMBNN_CACHE_DIR", str(folder))
        yield folder


@pytest.fixture(scope="session")
def mnist():
    try:
        return load_dataset("mnist")
    except DataError as error:  # pragma: no cover - setup.sh fetches it
        pytest.fail(f"MNIST is needed by the tests; run scripts/setup.sh ({error})")


@pytest.fixture(scope="session")
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)


@pytest.fixture()
def tmp(tmp_path: Path) -> Path:
    return tmp_path


@pytest.fixture()
def kernel_thread_count() -> Iterator[Callable[[int], None]]:
    """``kernel_thread_count(n)`` runs the test's kernels on n threads; the previous setting
    comes back after the test, whatever it raised."""
    with ExitStack() as stack:
        yield lambda n: stack.enter_context(kernel_threads(n))


@pytest.fixture(scope="session")
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
