"""The `Dataset` container and the checksum helper."""

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["DATASET_NAMES", "DataError", "Dataset", "sha256_of"]

DATASET_NAMES = ("mnist", "fashion-mnist", "cifar10", "tiny-imagenet")


class DataError(RuntimeError):
    """A data file is missing, corrupt or of the wrong shape."""


@dataclass(frozen=True, kw_only=True, eq=False)
class Dataset:
    """Images and labels of one data set, official train/test split.

    Attributes:
        name: one of `DATASET_NAMES`.
        x_train, x_test: uint8 images, shape (N, H, W, C), 0..255.
        y_train, y_test: uint8 class labels, shape (N,).
        classes: class names, index = label.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]

    def __post_init__(self) -> None:
        for split in ("train", "test"):
            x, y = getattr(self, f"x_{split}"), getattr(self, f"y_{split}")
            if x.dtype != np.uint8 or y.dtype != np.uint8 or x.ndim != 4 or y.ndim != 1:
                raise DataError(f"{self.name} {split}: expected uint8 (N,H,W,C) images "
                                "and (N,) labels")
            if len(x) != len(y):
                raise DataError(f"{self.name} {split}: {len(x)} images but {len(y)} labels")
            if y.size and int(y.max()) >= len(self.classes):
                raise DataError(f"{self.name} {split}: label {int(y.max())} out of range")

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(H, W, C) of one image."""
        h, w, c = self.x_train.shape[1:]
        return (h, w, c)


def as_pixels(x: np.ndarray, where: str) -> np.ndarray:
    """``x`` if it holds uint8 pixels; any other type is refused with a DataError naming
    ``where``: a cast would turn floats in [0, 1] into black images."""
    if x.dtype != np.uint8:
        raise DataError(f"{where}: images are {x.dtype}, expected uint8 pixels 0..255 (for "
                        "floats in [0, 1]: np.round(x * 255).astype(np.uint8))")
    return x


def as_labels(y: np.ndarray, where: str) -> np.ndarray:
    """Integer labels 0..255 as uint8; other values or types raise a DataError."""
    if y.dtype.kind not in "iu" or (y.size and (y.min() < 0 or y.max() > 255)):
        raise DataError(f"{where}: labels must be integers 0..255, got {y.dtype}")
    return y.astype(np.uint8, copy=False)


def sha256_of(path: Path) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
