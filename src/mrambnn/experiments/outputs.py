"""Result files that are never lost or mixed up: one writer at a time, nothing overwritten
that a run did not write, and only regular files read back."""

import fcntl
import hashlib
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np

__all__ = ["check_writable", "claim_output", "data_sha256", "readable_result"]


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and check that files can be written there, before any
    long work starts; raises ValueError naming it otherwise."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise ValueError(f"cannot write into {folder}: {error.strerror or error}") from error


def readable_result(path: Path) -> bool:
    """Whether ``path`` holds a result to read back: False if absent; raises ValueError if
    it exists but is not a regular file (a device, a folder, a pipe)."""
    path = Path(path)
    if not path.exists():
        return False
    if not path.is_file():
        raise ValueError(f"{path} exists and is not a regular file; choose another output")
    return True


@contextmanager
def claim_output(path: Path, *, suffix: str, sidecars: Sequence[str] = (),
                 force: bool = False) -> Iterator[None]:
    """Hold ``path`` (and its ``sidecars``, the same name with other suffixes) for one
    writer while the ``with`` block runs.

    Refused with ValueError: a path without ``suffix``; a path that is not a regular
    file; a sidecar that exists while ``path`` does not (so this run did not write it),
    unless ``force``; a folder where nothing can be written; a path another run is
    writing (an exclusive lock on a hidden file beside it, released when the run ends,
    however it ends).
    """
    path = Path(path)
    if path.suffix != suffix:
        raise ValueError(f"{path}: the output must end in {suffix} (other files are written "
                         f"beside it: {', '.join(sidecars) or 'none'})")
    exists = readable_result(path)
    for extra in sidecars:
        beside = path.with_suffix(extra)
        if beside.exists() and not exists and not force:
            raise ValueError(f"{beside} exists and this run did not write it; move it, "
                             "choose another output, or pass --force to replace it")
    check_writable(path.parent)
    lock_path = path.parent / f".{path.name}.lock"
    with open(lock_path, "a") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as error:
            raise ValueError(f"another run is writing {path}; wait for it or choose another "
                             "output") from error
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def data_sha256(images: np.ndarray, labels: np.ndarray) -> str:
    """SHA-256 of the images and labels a result was measured on."""
    digest = hashlib.sha256(repr((images.shape, str(images.dtype))).encode())
    digest.update(np.ascontiguousarray(images).tobytes())
    digest.update(np.ascontiguousarray(labels).astype(np.int64).tobytes())
    return digest.hexdigest()
