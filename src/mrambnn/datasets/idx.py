"""Reader for the IDX format of MNIST and Fashion-MNIST (plain or gzip-compressed)."""

import gzip
from pathlib import Path

import numpy as np

from mrambnn.datasets.base import DataError

__all__ = ["read_idx"]

_UBYTE_CODE = 0x08


def read_idx(path: Path) -> np.ndarray:
    """Read an unsigned-byte IDX file into a uint8 array of the shape its header gives."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as stream:
            raw = stream.read()
    except (OSError, EOFError) as error:
        raise DataError(f"cannot read {path}: {error}") from error
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != _UBYTE_CODE:
        raise DataError(f"{path} is not an unsigned-byte IDX file")
    n_dims = raw[3]
    header = 4 + 4 * n_dims
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(n_dims))
    expected = header + int(np.prod(shape))
    if len(raw) != expected:
        raise DataError(f"{path}: {len(raw)} bytes, header announces {expected} (truncated?)")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape).copy()
