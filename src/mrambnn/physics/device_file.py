"""Device files: a user's own MTJ in TOML, read with every key checked, and any device
written back to that format (to start from a preset).

A device file holds an optional top-level ``name`` and exactly one of two tables, in SI
units:

``[mtj]``: the macrospin parameters of `MTJ` (delta, ic0_p2ap, ic0_ap2p and tau_d
required; the others default as in `MTJ`)::

    name = "my-pmtj"
    [mtj]
    delta = 55.0        # thermal stability factor E_b / (kB T)
    ic0_p2ap = 7.0e-05  # A
    ic0_ap2p = 5.0e-05  # A
    tau_d = 1.5e-09     # s

``[material]``: material constants, from which `MTJ.from_material` derives delta, ic0
and tau_d (ms, mu0_hk_eff, thickness, diameter, alpha, eta_p2ap, eta_ap2p, ra and tmr0
required; temperature, tau0, b, v_h and source optional).

An unknown key, a missing one, a value of the wrong type or out of range is a ValueError
of one line that names the file and the key.
"""

import math
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from mrambnn.physics.mtj import MTJ
from mrambnn.physics.presets import PRESETS

__all__ = ["MATERIAL_KEYS", "MTJ_KEYS", "Device", "device_toml", "read_device",
           "resolve_device"]

# key -> (unit, meaning); the order is the order of a written file
MTJ_KEYS: dict[str, tuple[str, str]] = {
    "delta": ("1", "thermal stability factor E_b / (kB T)"),
    "ic0_p2ap": ("A", "critical current P -> AP at 0 K"),
    "ic0_ap2p": ("A", "critical current AP -> P at 0 K"),
    "tau_d": ("s", "precession time unit (1 + alpha^2) / (alpha gamma mu0 Hk_eff)"),
    "tau0": ("s", "attempt time of thermal reversal (retention, read disturb)"),
    "b": ("1", "exponent of the barrier lowering delta (1 - I/Ic0)^b, in [1, 2]"),
    "r_p": ("ohm", "parallel-state resistance at low bias"),
    "tmr0": ("1", "zero-bias TMR ratio (1.5 = 150 %)"),
    "v_h": ("V", "bias at which the TMR halves"),
    "diameter": ("m", "junction diameter"),
    "temperature": ("K", "operating temperature"),
    "source": ("", "where the values come from"),
}
MATERIAL_KEYS: dict[str, tuple[str, str]] = {
    "ms": ("A/m", "saturation magnetisation of the free layer"),
    "mu0_hk_eff": ("T", "effective anisotropy field mu0 Hk_eff"),
    "thickness": ("m", "free-layer thickness"),
    "diameter": ("m", "junction diameter"),
    "alpha": ("1", "Gilbert damping"),
    "eta_p2ap": ("1", "spin-transfer efficiency P -> AP"),
    "eta_ap2p": ("1", "spin-transfer efficiency AP -> P"),
    "ra": ("ohm m^2", "resistance-area product (parallel state)"),
    "tmr0": ("1", "zero-bias TMR ratio (1.5 = 150 %)"),
    "temperature": ("K", "operating temperature"),
    "tau0": ("s", "attempt time of thermal reversal"),
    "b": ("1", "exponent of the barrier lowering, in [1, 2]"),
    "v_h": ("V", "bias at which the TMR halves"),
    "source": ("", "where the values come from"),
}
_MTJ_REQUIRED = ("delta", "ic0_p2ap", "ic0_ap2p", "tau_d")
_MATERIAL_REQUIRED = ("ms", "mu0_hk_eff", "thickness", "diameter", "alpha", "eta_p2ap",
                      "eta_ap2p", "ra", "tmr0")


@dataclass(frozen=True, kw_only=True)
class Device:
    """A named device: a preset, or a device file (``name``: its ``name`` key, else the
    file's stem)."""

    name: str
    mtj: MTJ


def _checked(path: Path | str, table: str, raw: Any, keys: dict[str, tuple[str, str]],
             required: tuple[str, ...]) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: [{table}] must be a table of keys")
    unknown = sorted(set(raw) - set(keys))
    if unknown:
        raise ValueError(f"{path}: unknown key {table}.{unknown[0]}; valid: "
                         f"{', '.join(keys)}")
    missing = [key for key in required if key not in raw]
    if missing:
        raise ValueError(f"{path}: missing key {table}.{missing[0]} "
                         f"({keys[missing[0]][0]}, {keys[missing[0]][1]})")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if key == "source":
            if not isinstance(value, str):
                raise ValueError(f"{path}: {table}.source must be a string")
            values[key] = value
        elif isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise ValueError(f"{path}: {table}.{key} must be a finite number "
                             f"({keys[key][0]}), got {value!r}")
        else:
            values[key] = float(value)
    return values


def read_device(path: Path | str) -> Device:
    """The device of the TOML file ``path`` (see the module docstring)."""
    try:
        with open(path, "rb") as stream:
            data = tomllib.load(stream)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ValueError(f"cannot read device file {path}: {error}") from error
    unknown = sorted(set(data) - {"name", "mtj", "material"})
    if unknown:
        raise ValueError(f"{path}: unknown key {unknown[0]}; a device file holds name and "
                         "one table, [mtj] or [material]")
    tables = [table for table in ("mtj", "material") if table in data]
    if len(tables) != 1:
        raise ValueError(f"{path}: a device file holds exactly one table, [mtj] or "
                         f"[material], found {len(tables)}")
    name = data.get("name", Path(path).stem)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{path}: name must be a non-empty string")
    try:
        if tables[0] == "mtj":
            mtj = MTJ(**_checked(path, "mtj", data["mtj"], MTJ_KEYS, _MTJ_REQUIRED))
        else:
            mtj = MTJ.from_material(**_checked(path, "material", data["material"],
                                               MATERIAL_KEYS, _MATERIAL_REQUIRED))
    except ValueError as error:
        if str(error).startswith(f"{path}:"):
            raise
        raise ValueError(f"{path}: [{tables[0]}] {error}") from error
    return Device(name=name, mtj=mtj)


def device_toml(mtj: MTJ, name: str) -> str:
    """``mtj`` as the text of a device file (an [mtj] table, every key with its unit)."""
    lines = ["# MTJ device for mrambnn (SI units); read by --device FILE",
             f"name = {_toml_string(name)}", "", "[mtj]"]
    for item in fields(MTJ):
        unit, meaning = MTJ_KEYS[item.name]
        value = getattr(mtj, item.name)
        text = _toml_string(value) if isinstance(value, str) else repr(float(value))
        if unit and text != f"{value:.6g}":  # a value like 5.9999999999999995e-05, shown
            unit = f"{unit} ({value:.6g})"
        lines.append(f"{item.name} = {text}  # {f'{unit}, ' if unit else ''}{meaning}")
    return "\n".join(lines) + "\n"


def _toml_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}"'


def resolve_device(spec: str | Path) -> Device:
    """A preset name (`PRESETS`) or the path of a device file."""
    text = str(spec)
    if text in PRESETS:
        return Device(name=text, mtj=PRESETS[text])
    if text.endswith(".toml") or Path(text).is_file():
        return read_device(text)
    raise ValueError(f"unknown device {text!r}: give a preset ({', '.join(PRESETS)}) or a "
                     "device file (.toml; `mrambnn device PRESET` writes one to start from)")
