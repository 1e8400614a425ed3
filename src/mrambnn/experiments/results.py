"""Result files: atomic writes and provenance."""

import json
import os
import platform
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn import __version__

__all__ = ["provenance", "read_json", "write_atomic"]


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader never sees a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o644)  # mkstemp creates 0600; results are meant to be shared
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_json(path: Path) -> Any:
    """Parse a JSON file; a missing, non-regular (a device, a folder) or corrupt file
    raises ValueError naming it."""
    if not Path(path).is_file():
        raise ValueError(f"{path} does not exist or is not a regular file")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from error


def provenance() -> dict[str, str]:
    """Versions that a result depends on."""
    return {"mrambnn": __version__, "numpy": np.__version__, "python": platform.python_version()}
