"""Shared fixtures: the MNIST data (fetched by scripts/setup.sh), a seeded generator, and
the kernels' thread count for one test."""

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pytest

from mrambnn.datasets import DataError, load_dataset
from mrambnn.engine.threads import kernel_threads


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
