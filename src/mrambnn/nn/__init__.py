"""Training binarized networks with PyTorch (the only torch importer) and export to `engine`."""

from mrambnn.nn.export import export_packed_net
from mrambnn.nn.layers import BinaryLinear, SignActivation, binarize_ste
from mrambnn.nn.models import MODEL_NAMES, build_model
from mrambnn.nn.train import TrainConfig, evaluate, train

__all__ = [
    "MODEL_NAMES",
    "BinaryLinear",
    "SignActivation",
    "TrainConfig",
    "binarize_ste",
    "build_model",
    "evaluate",
    "export_packed_net",
    "train",
]
