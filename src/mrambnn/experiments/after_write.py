"""What happens to stored weights between their write and the inference: retention over
a time, and read disturb over a number of reads, on a chip whose cells may differ
(`mrambnn.memory.cell_faults`). A BER sweep with `AfterWrite` measures accuracy against
the write's BER some time after writing."""

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mrambnn.engine import PackedNet
from mrambnn.memory.cell_faults import CellRetention, Chip
from mrambnn.physics.device_file import resolve_device
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.presets import PRESETS, get_preset
from mrambnn.physics.variability import SPREAD_PRESETS

__all__ = ["AfterWrite"]


@dataclass(frozen=True, kw_only=True)
class AfterWrite:
    """Time and reads after the write, and the cells that live through them.

    Attributes:
        time: seconds since writing (retention), >= 0.
        reads: reads since writing, each of ``read_current`` (A) for ``read_duration``
            (s), pushing P cells (bit 1) towards AP.
        preset: the MTJ preset of the cells, or the name of ``mtj`` when that is given
            (a device file's device); ``delta`` overrides its thermal stability (None:
            the device's).
        mtj: the cells' device when it is not a preset (None: the preset).
        spread: device-to-device spread (`SPREAD_PRESETS`); ``chip_seed`` draws the chip.
    """

    time: float = 0.0
    reads: int = 0
    read_current: float = 0.0
    read_duration: float = 5e-9
    preset: str = "pmtj-40nm"
    delta: float | None = None
    spread: str = "none"
    chip_seed: int = 0
    mtj: MTJ | None = None

    @staticmethod
    def device_fields(spec: str) -> dict[str, Any]:
        """``preset`` (and ``mtj``) for a device given as a preset name or a device file."""
        if spec in PRESETS:
            return {"preset": spec}
        device = resolve_device(spec)
        return {"preset": device.name, "mtj": device.mtj}

    def __post_init__(self) -> None:
        if not (np.isfinite(self.time) and self.time >= 0):
            raise ValueError(f"time after writing must be >= 0 s, got {self.time}")
        if self.reads < 0 or self.read_current < 0 or self.read_duration <= 0:
            raise ValueError("need reads >= 0, read current >= 0 A and read duration > 0 s")
        if self.delta is not None and not self.delta > 0:
            raise ValueError(f"delta must be > 0, got {self.delta}")
        if self.spread not in SPREAD_PRESETS:
            raise ValueError(f"unknown spread {self.spread!r}; choose one of "
                             f"{', '.join(SPREAD_PRESETS)}")
        self.device()  # an unknown preset, or a read current that writes, fails here
        if self.reads and self.read_current >= self.device().ic0_p2ap:
            raise ValueError(f"read current {self.read_current:g} A reaches ic0: it writes")

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> "AfterWrite":
        """The inverse of `dataclasses.asdict` (a result file's ``after``)."""
        mtj = raw.get("mtj")
        return cls(**{**raw, "mtj": None if mtj is None else MTJ(**mtj)})

    def device(self) -> MTJ:
        """The nominal cell."""
        mtj = get_preset(self.preset) if self.mtj is None else self.mtj
        return mtj if self.delta is None else replace(mtj, delta=float(self.delta))

    def channel(self, net: PackedNet) -> CellRetention:
        """The after-write channel of ``net``'s weights on one chip (drawn from
        ``chip_seed``, fixed over every draw)."""
        shapes = [(layer.out_features, layer.in_features) for layer in net.layers]
        chip = Chip.for_shapes(self.device(), SPREAD_PRESETS[self.spread], shapes,
                               rng=np.random.default_rng([self.chip_seed, 31]))
        return CellRetention(chip=chip, time=self.time, n_reads=self.reads,
                             read_current=self.read_current,
                             read_duration=self.read_duration)
