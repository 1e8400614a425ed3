"""A campaign file (TOML): models x fault models x grids, with draws, seeds and outputs.

    name = "ber-study"            # names the output files
    seed = 2019                   # root seed of every draw (as `mrambnn sweep --seed`)
    draws = 20                    # draws per grid point (1 at BER 0)
    data_dir = "data"             # optional: folder of the test data (default locations)

    [[model]]
    name = "mnist-mlp"            # a shipped model, or the path of a .npz model file
    n_images = 1000               # optional: the first n test images

    [[fault]]
    kind = "bitflip"              # every stored bit flips with probability BER
    grid = [0.0, 1e-4, 1e-3]
    [[fault]]
    kind = "ecc"                  # raw BER on every stored bit, the code in the loop
    code = "secded-72-64"
    grid = [1e-3, 1e-2]
    [[fault]]
    kind = "write"                # write failures of one pulse per weight (physics)
    mtj = "pmtj-40nm"             # a preset, or a device file (relative to this file)
    width_ns = 10
    currents_ua = [80, 100, 150]

    [tasks]                       # optional: how the work is cut (results do not depend on it)
    draws_per_task = 5
    images_per_task = 2500

    [cluster]                     # optional: run on a Dask scheduler instead of locally
    scheduler = "tcp://10.0.0.1:8786"

A typo or unknown key is an error naming the valid ones; relative paths are relative to
the file.
"""

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mrambnn.memory.ecc import CODE_NAMES
from mrambnn.memory.faults import check_probability
from mrambnn.physics.device_file import resolve_device
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.presets import PRESETS, get_preset

__all__ = ["FAULT_KINDS", "Campaign", "FaultSpec", "ModelSpec", "load_campaign"]

FAULT_KINDS = ("bitflip", "ecc", "write")
_TOP = {"name", "seed", "draws", "data_dir", "model", "fault", "tasks", "cluster"}
_FAULT_KEYS = {"bitflip": {"kind", "grid"}, "ecc": {"kind", "code", "grid"},
               "write": {"kind", "mtj", "width_ns", "currents_ua"}}


@dataclass(frozen=True, kw_only=True)
class ModelSpec:
    """A network of the campaign: a shipped name or a model file, and its test subset."""

    name: str
    n_images: int | None = None

    @property
    def label(self) -> str:
        """The model's name in output files."""
        return Path(self.name).stem


@dataclass(frozen=True, kw_only=True)
class FaultSpec:
    """A fault model and its grid: BERs (bitflip, ecc) or write currents in A (write)."""

    kind: str
    grid: tuple[float, ...]
    code: str = "none"
    mtj: str = ""  # the device's name: a preset, or a device file's name
    width: float = 0.0  # s, write pulses
    device: MTJ | None = None  # write faults: the device (a preset's or a file's)

    @property
    def junction(self) -> MTJ:
        """A write fault's device: the one the campaign gave, else the preset ``mtj``."""
        return self.device or get_preset(self.mtj)

    @property
    def label(self) -> str:
        """The fault model's name in output files."""
        if self.kind == "ecc":
            return f"ecc-{self.code}"
        if self.kind == "write":
            return f"write-{self.mtj}-{self.width * 1e9:g}ns"
        return self.kind


@dataclass(frozen=True, kw_only=True)
class Campaign:
    """A whole campaign, validated; ``source`` is the file's text (embedded in results)."""

    name: str
    seed: int
    draws: int
    models: tuple[ModelSpec, ...]
    faults: tuple[FaultSpec, ...]
    draws_per_task: int
    images_per_task: int
    data_dir: Path | None = None
    scheduler: str | None = None
    source: str = ""


def _keys(table: dict[str, Any], valid: set[str], where: str) -> None:
    unknown = sorted(set(table) - valid)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(unknown)}; valid: "
                         f"{', '.join(sorted(valid))}")


def _positive_int(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{where} must be a whole number >= 1, got {value!r}")
    return value


def _numbers(value: Any, where: str) -> tuple[float, ...]:
    if (not isinstance(value, list) or not value
            or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)):
        raise ValueError(f"{where} must be a non-empty list of numbers, got {value!r}")
    if len(set(value)) != len(value):
        raise ValueError(f"{where} repeats a value")
    return tuple(float(v) for v in value)


def _fault(table: Any, i: int, folder: Path) -> FaultSpec:
    where = f"fault {i + 1}"
    if not isinstance(table, dict) or table.get("kind") not in FAULT_KINDS:
        raise ValueError(f"{where}: kind must be one of {', '.join(FAULT_KINDS)}")
    kind = table["kind"]
    _keys(table, _FAULT_KEYS[kind], where)
    missing = sorted(_FAULT_KEYS[kind] - set(table))
    if missing:
        raise ValueError(f"{where} ({kind}) needs {', '.join(missing)}")
    if kind == "write":
        spec = str(table["mtj"])
        if spec not in PRESETS and not (folder / spec).is_file():
            raise ValueError(f"{where}: unknown mtj {spec!r}: give a preset "
                             f"({', '.join(PRESETS)}) or a device file beside the campaign")
        try:
            device = resolve_device(spec if spec in PRESETS else folder / spec)
        except ValueError as error:
            raise ValueError(f"{where}: mtj: {error}") from None
        currents = _numbers(table["currents_ua"], f"{where} currents_ua")
        width = float(table["width_ns"]) * 1e-9
        if not all(c > 0 for c in currents) or not width > 0:
            raise ValueError(f"{where}: currents and width must be > 0")
        return FaultSpec(kind=kind, grid=tuple(c * 1e-6 for c in currents), mtj=device.name,
                         width=width, device=device.mtj)
    grid = _numbers(table["grid"], f"{where} grid")
    for ber in grid:
        check_probability("ber", ber)
    code = table.get("code", "none")
    if code not in CODE_NAMES or (kind == "ecc" and code == "none"):
        raise ValueError(f"{where}: unknown code {code!r}; choose one of "
                         f"{', '.join(c for c in CODE_NAMES if c != 'none')}")
    return FaultSpec(kind=kind, grid=grid, code=code)


def _model(table: Any, i: int, folder: Path) -> ModelSpec:
    if isinstance(table, str):
        table = {"name": table}
    if not isinstance(table, dict) or not isinstance(table.get("name"), str):
        raise ValueError(f"model {i + 1} needs a name (a shipped model or a .npz path)")
    _keys(table, {"name", "n_images"}, f"model {i + 1}")
    name = table["name"]
    if name.endswith(".npz") and not Path(name).is_absolute():
        name = str(folder / name)
    n = table.get("n_images")
    return ModelSpec(name=name, n_images=None if n is None
                     else _positive_int(n, f"model {i + 1} n_images"))


def load_campaign(path: Path) -> Campaign:
    """Read and validate a campaign file; errors name the key and the valid choices."""
    path = Path(path)
    try:
        source = path.read_text(encoding="utf-8")
        data = tomllib.loads(source)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read campaign file {path}: {error}") from error
    _keys(data, _TOP, str(path))
    models = data.get("model", [])
    faults = data.get("fault", [])
    if not isinstance(models, list) or not models or not isinstance(faults, list) or not faults:
        raise ValueError(f"{path}: a campaign needs at least one [[model]] and one [[fault]]")
    tasks = data.get("tasks", {})
    cluster = data.get("cluster", {})
    _keys(tasks, {"draws_per_task", "images_per_task"}, "[tasks]")
    _keys(cluster, {"scheduler"}, "[cluster]")
    name = data.get("name", path.stem)
    if not isinstance(name, str) or not name or "/" in name:
        raise ValueError(f"name must be a file-name-safe string, got {name!r}")
    seed = data.get("seed", 2019)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a whole number >= 0, got {seed!r}")
    data_dir = data.get("data_dir")
    return Campaign(
        name=name, seed=seed, draws=_positive_int(data.get("draws", 20), "draws"),
        models=tuple(_model(m, i, path.parent) for i, m in enumerate(models)),
        faults=tuple(_fault(f, i, path.parent) for i, f in enumerate(faults)),
        draws_per_task=_positive_int(tasks.get("draws_per_task", 5), "draws_per_task"),
        images_per_task=_positive_int(tasks.get("images_per_task", 2500), "images_per_task"),
        data_dir=None if data_dir is None else path.parent / str(data_dir),
        scheduler=cluster.get("scheduler"), source=source)
