"""Read the standard CIFAR-10 python archive (``cifar-10-python.tar.gz``) safely.

Its batches are Python pickles. We never run a general unpickler on them: the
`_ArrayOnlyUnpickler` resolves only the few NumPy names that rebuild a plain array and
refuses every other global, so a tampered archive cannot execute code.
"""

import io
import pickle
import tarfile
from pathlib import Path

import numpy as np

from mrambnn.datasets.base import DataError

__all__ = ["read_cifar10_python_archive"]

_ALLOWED_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how protocol-2 pickles written by Python 3 rebuild bytes
}
_TRAIN_BATCHES = [f"data_batch_{i}" for i in range(1, 6)]


class _ArrayOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        if (module, name) not in _ALLOWED_GLOBALS:
            raise DataError(f"refusing to load {module}.{name} from a CIFAR-10 batch")
        return getattr(__import__(module, fromlist=[name]), name)


def _read_batch(blob: bytes, member: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        content = _ArrayOnlyUnpickler(io.BytesIO(blob), encoding="bytes").load()
    except DataError:
        raise
    except Exception as error:
        raise DataError(f"CIFAR-10 batch {member} is corrupt: {error}") from error
    if not isinstance(content, dict):
        raise DataError(f"CIFAR-10 batch {member} is a {type(content).__name__}, not a dict "
                        "of data and labels")
    data, labels = content.get(b"data"), content.get(b"labels")
    if not isinstance(data, np.ndarray) or labels is None or data.shape[1:] != (3072,):
        raise DataError(f"CIFAR-10 batch {member} lacks (N, 3072) data and labels")
    images = data.astype(np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), np.asarray(labels, dtype=np.uint8)


def read_cifar10_python_archive(path: Path) -> dict[str, np.ndarray]:
    """Images (N, 32, 32, 3) uint8 and labels from the official python archive.

    Returns a dict with ``x_train``, ``y_train`` (50,000) and ``x_test``, ``y_test`` (10,000).
    """
    try:
        archive = tarfile.open(path, "r:*")
    except (OSError, tarfile.TarError) as error:
        raise DataError(f"cannot open CIFAR-10 archive {path}: {error}") from error
    batches: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    with archive:
        for member in archive.getmembers():
            stem = Path(member.name).name
            if member.isfile() and stem in [*_TRAIN_BATCHES, "test_batch"]:
                stream = archive.extractfile(member)
                if stream is not None:
                    batches[stem] = _read_batch(stream.read(), stem)
    missing = [b for b in [*_TRAIN_BATCHES, "test_batch"] if b not in batches]
    if missing:
        raise DataError(f"CIFAR-10 archive {path} lacks {', '.join(missing)}")
    x_train = np.concatenate([batches[b][0] for b in _TRAIN_BATCHES])
    y_train = np.concatenate([batches[b][1] for b in _TRAIN_BATCHES])
    x_test, y_test = batches["test_batch"]
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}
