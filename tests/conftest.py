"""Shared fixtures: the MNIST data (fetched by scripts/setup.sh) and small trained models."""

from pathlib import Path

import numpy as np
import pytest

from mrambnn.datasets import DataError, load_dataset


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
