"""The shipped networks: their accuracy, measured now by the packed engine, and provenance."""

import pytest

from mrambnn.datasets import DataError, load_test_set
from mrambnn.engine import accuracy
from mrambnn.models import SHIPPED_MODELS, load_model

# The accuracy each shipped network must keep (each ships a little above its floor).
FLOORS = {"mnist-mlp": 0.985, "fashion-conv": 0.90, "cifar-vgg": 0.80, "tiny-vgg": 0.25}


@pytest.mark.parametrize("name", sorted(SHIPPED_MODELS))
def test_shipped_model_accuracy_and_provenance(name: str) -> None:
    net = load_model(name)
    meta = net.metadata
    for key in ("architecture", "dataset", "train_config", "seed", "command", "test_accuracy"):
        assert key in meta, f"{name} lacks {key}"
    try:
        data = load_test_set(meta["dataset"])
    except DataError as error:  # CIFAR-10, Tiny ImageNet: read from ../shared, which a
        # machine may lack
        pytest.skip(f"{meta['dataset']} is not on this machine: {error}")
    measured = accuracy(net, data.x_test, data.y_test)
    assert measured == pytest.approx(meta["test_accuracy"], abs=1e-12)
    assert measured >= FLOORS[name]
