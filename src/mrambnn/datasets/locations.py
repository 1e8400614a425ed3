"""Where data sets are looked for: the folders searched, in order, and the data root.

A data root holds one folder per data set (``mnist/``, ``fashion-mnist/``, ``cifar10/``).
Given ``--data-dir PATH``, a loader searches PATH itself (the data set's own folder) and
then ``PATH/<data set>`` (PATH a data root). Without it, it searches each data root in
this order:

1. ``$MRAMBNN_DATA_DIR``;
2. ``data_dir`` of the user config, ``$XDG_CONFIG_HOME/mrambnn/config.toml`` (else
   ``~/.config/mrambnn/config.toml``), or the file ``$MRAMBNN_CONFIG`` names;
3. ``data/`` of the source checkout mrambnn runs from (where ``scripts/setup.sh`` fetches
   MNIST), whatever the working directory;
4. the user data folder, ``$XDG_DATA_HOME/mrambnn`` (else ``~/.local/share/mrambnn``);

then the data set's own places (Fashion-MNIST: the Debian package's folder; CIFAR-10:
``../shared/data/cifar10`` beside the checkout; ``$MRAMBNN_CIFAR10``, a CIFAR-10 folder or
archive, comes before the roots). ``fetch`` writes
into the first of roots 1-3 that is set or exists, else root 4.
"""

import os
import tomllib
from pathlib import Path

__all__ = ["CHECKOUT", "CONFIG_KEYS", "data_roots", "default_data_dir", "search_folders",
           "user_config"]

CONFIG_KEYS = {"data_dir": "the data root (a folder holding mnist/, fashion-mnist/, ...)"}
CHECKOUT = Path(__file__).resolve().parents[3]  # src/mrambnn/datasets -> the checkout


def _config_path() -> Path:
    if "MRAMBNN_CONFIG" in os.environ:
        return Path(os.environ["MRAMBNN_CONFIG"])
    base = os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config"
    return Path(base) / "mrambnn" / "config.toml"


def user_config() -> dict[str, str]:
    """The user config's keys (`CONFIG_KEYS`); {} without a config file. A malformed file
    or an unknown key raises ValueError naming the file."""
    path = _config_path()
    if not path.is_file():
        if "MRAMBNN_CONFIG" in os.environ:
            raise ValueError(f"MRAMBNN_CONFIG names {path}, which is not a file")
        return {}
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read the mrambnn config {path}: {error}") from error
    unknown = sorted(set(data) - set(CONFIG_KEYS))
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]}; valid: {', '.join(CONFIG_KEYS)}")
    if not all(isinstance(value, str) for value in data.values()):
        raise ValueError(f"{path}: data_dir must be a string (a folder)")
    return {key: str(Path(value).expanduser()) for key, value in data.items()}


def data_roots() -> list[tuple[Path, str]]:
    """Data roots in search order, each with where it comes from."""
    roots = []
    if os.environ.get("MRAMBNN_DATA_DIR"):
        roots.append((Path(os.environ["MRAMBNN_DATA_DIR"]), "$MRAMBNN_DATA_DIR"))
    configured = user_config().get("data_dir")
    if configured:
        roots.append((Path(configured), f"data_dir in {_config_path()}"))
    if (CHECKOUT / "pyproject.toml").is_file():
        roots.append((CHECKOUT / "data", "the checkout's data/"))
    user = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    roots.append((user / "mrambnn", "the user data folder"))
    return roots


def default_data_dir() -> Path:
    """The root ``fetch`` writes into (module docstring)."""
    roots = data_roots()
    for root, origin in roots[:-1]:
        if not origin.startswith("the checkout") or root.exists():
            return root
    return roots[-1][0]


def search_folders(name: str, path: Path | None, *, first: tuple[Path, ...] = (),
                   last: tuple[Path, ...] = ()) -> list[Path]:
    """The folders to search for data set ``name`` (its folder name), in order: ``path``
    and ``path/name`` if a path is given; else ``first`` (a variable naming this data set's
    folder), every data root's ``name`` folder, then ``last`` (the data set's own places)."""
    if path is not None:
        return [path, path / name]
    return [*first, *(root / name for root, _ in data_roots()), *last]
