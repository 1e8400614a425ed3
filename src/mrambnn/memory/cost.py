"""System energy and area of a weight memory: cells, parity, ECC logic, reads and compute.

Every default below carries its source; a TOML file overrides any of them (an unknown key
is an error). The model, for a network of ``n_synapses`` binary weights stored as
``n_words`` data words of k bits, each encoded into n stored bits:

- one deployment writes every stored bit once with the chosen pulse (NVSim convention:
  every cell gets the pulse) and runs the encoder once per word;
- each inference reads every stored bit once, decodes every word, and computes one XNOR +
  popcount per synapse; a workload is ``reads_per_write`` inferences per deployment;
- area: cells (1T1R, transistor sized for the write current, `mrambnn.physics.energy`)
  plus one decoder and encoder per macro of ``macro_data_bits`` data bits.
"""

import tomllib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.memory.ecc import BlockCode, get_code

__all__ = ["CostConfig", "EnergyBreakdown", "load_cost_config", "system_cost"]

# Each field's source, printed in reports next to its value.
SOURCES: dict[str, str] = {
    "pulse_width": "10 ns: the write pulse of a 28 nm FD-SOI STT-MRAM macro (IEEE Access 2019)",
    "switching_fraction": "0.5: random data over random prior content, 1T1R without "
                          "read-before-write: half of the cells must switch (derived)",
    "read_energy_per_bit": "0.5 pJ/bit: between the 28 nm FD-SOI macro (IEEE Access 2019: "
                           "0.9 pJ/bit) and smaller arrays (NVMExplorer, HPCA 2022: "
                           "7-8 pJ per 64-bit read)",
    "compute_energy_per_synapse": "10 fJ: XNOR in a precharge sense amplifier (Bocquet "
                                  "et al., IEDM 2018)",
    "secded_decoder_energy_per_data_bit": "10 fJ: SECDED(72,64) decoder at 28 nm, "
                                          "project estimate (within 2x)",
    "secded_decoder_gates": "1250 GE: SECDED(72,64) decoder 1-1.5 kGE (project estimate)",
    "secded_decoder_latency": "0.4 ns: 0.3-0.5 ns (project estimate)",
    "bch_complexity_exponent": "2: parallel BCH decoder logic grows about as t^2 relative "
                               "to SECDED ('several times' for DEC; project estimate)",
    "encoder_fraction": "0.3: an encoder is the syndrome XOR tree alone, about a third of "
                        "a decoder (estimate)",
    "gate_area": "0.2 um^2 per NAND2-equivalent at 28 nm (about 5 M gates/mm^2; estimate)",
    "macro_data_bits": "1 Mbit of data per macro, one decoder each (1 Mb 28 nm macros, "
                       "IEEE Access 2019; assumption)",
    "reads_per_write": "1: weights reloaded for every inference (write-dominated workload, "
                       "where the weak pulse matters most; assumption); the budget sweeps 1..1e6",
    "feature": "28 nm: the node of the FD-SOI macro (IEEE Access 2019)",
}


@dataclass(frozen=True, kw_only=True)
class CostConfig:
    """Cost parameters (SI units); sources in `SOURCES`."""

    pulse_width: float = 10e-9
    switching_fraction: float = 0.5
    read_energy_per_bit: float = 0.5e-12
    compute_energy_per_synapse: float = 10e-15
    secded_decoder_energy_per_data_bit: float = 10e-15
    secded_decoder_gates: float = 1250.0
    secded_decoder_latency: float = 0.4e-9
    bch_complexity_exponent: float = 2.0
    encoder_fraction: float = 0.3
    gate_area: float = 0.2e-12
    macro_data_bits: float = float(2**20)
    reads_per_write: float = 1.0
    feature: float = 28e-9

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if not (isinstance(value, int | float) and np.isfinite(value) and value >= 0):
                raise ValueError(f"cost parameter {f.name} must be a finite number >= 0, "
                                 f"got {value!r}")
        if not 0 < self.switching_fraction <= 1:
            raise ValueError("switching_fraction must be in (0, 1]")
        if self.pulse_width <= 0 or self.feature <= 0:
            raise ValueError("pulse_width and feature must be > 0")
        if not 64 <= self.macro_data_bits <= 2**50:
            raise ValueError(f"macro_data_bits must be in [64, 2^50] (one 64-bit word to a "
                             f"petabit), got {self.macro_data_bits!r}")
        if self.reads_per_write > 1e18:
            raise ValueError(f"reads_per_write must be <= 1e18, got {self.reads_per_write!r}")

    def logic_scale(self, code: BlockCode) -> float:
        """Decoder size relative to SECDED(72, 64) for the same number of data bits."""
        if code.t == 0:
            return 0.0
        return float(code.t**self.bch_complexity_exponent)

    def decoder_energy_per_word(self, code: BlockCode) -> float:
        """J per decoded word of k data bits."""
        return self.secded_decoder_energy_per_data_bit * code.k * self.logic_scale(code)

    def decoder_latency(self, code: BlockCode) -> float:
        """s; grows with the number of correction stages (about t)."""
        return self.secded_decoder_latency * max(code.t, 0)


def load_cost_config(path: Path | str | None, **overrides: Any) -> CostConfig:
    """Defaults, then the TOML file's keys (top level or under ``[cost]``), then
    ``overrides``. An unknown key raises ValueError naming the valid ones."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            with open(path, "rb") as stream:
                data = tomllib.load(stream)
        except (OSError, tomllib.TOMLDecodeError) as error:
            raise ValueError(f"cannot read cost config {path}: {error}") from error
        device = sorted({"mtj", "material"} & set(data))
        if device:
            raise ValueError(f"{path}: [{device[0]}] describes the device, not a cost; put "
                             "it in a device file and give that with --device (`mrambnn "
                             "device PRESET` writes one to start from)")
        if "cost" in data and len(data) > 1:
            others = ", ".join(sorted(k for k in data if k != "cost"))
            raise ValueError(f"{path}: top-level key(s) {others} beside the [cost] table "
                             "would be ignored; put cost parameters under [cost]")
        values.update(data.get("cost", data))
    values.update(overrides)
    valid = {f.name for f in fields(CostConfig)}
    unknown = sorted(set(values) - valid)
    if unknown:
        raise ValueError(f"unknown cost parameter(s) {', '.join(unknown)}; valid: "
                         f"{', '.join(sorted(valid))}")
    return replace(CostConfig(), **{k: float(v) for k, v in values.items()})


@dataclass(frozen=True, kw_only=True)
class EnergyBreakdown:
    """Energy per deployment (J) and area (m^2) of one memory configuration.

    Energies cover one write of the whole network plus ``reads_per_write`` inferences.
    """

    code: str
    write_energy_per_bit: float
    cell_area_f2: float
    stored_bits: int
    write: float
    encode: float
    read: float
    decode: float
    compute: float
    cell_area: float
    logic_area: float

    @property
    def total_energy(self) -> float:
        return self.write + self.encode + self.read + self.decode + self.compute

    @property
    def total_area(self) -> float:
        return self.cell_area + self.logic_area

    def as_dict(self) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(total_energy=self.total_energy, total_area=self.total_area)
        return out


def system_cost(*, n_synapses: int, code: BlockCode | str, write_energy_per_bit: float,
                cell_area_f2: float, config: CostConfig, data_bits: int | None = None
                ) -> EnergyBreakdown:
    """Energy and area of storing ``n_synapses`` weights under ``code``.

    Args:
        data_bits: data bits stored before encoding (the packed rows with their padding;
            default ``n_synapses``).
        write_energy_per_bit: J per stored bit per write (from the physics at the pulse).
        cell_area_f2: 1T1R cell area in F^2 (transistor sized for that pulse).
    """
    code = get_code(code) if isinstance(code, str) else code
    if n_synapses < 1:
        raise ValueError(f"n_synapses must be >= 1, got {n_synapses}")
    if write_energy_per_bit < 0 or cell_area_f2 <= 0:
        raise ValueError("write energy must be >= 0 and cell area > 0")
    data_bits = n_synapses if data_bits is None else data_bits
    if data_bits < n_synapses:
        raise ValueError("data_bits must be >= n_synapses")
    n_words = -(-data_bits // code.k)
    stored = n_words * code.n
    reads = config.reads_per_write
    decoder = config.decoder_energy_per_word(code)
    n_macros = max(1, int(np.ceil(n_words * code.k / config.macro_data_bits)))
    logic_gates = config.secded_decoder_gates * config.logic_scale(code) * (
        1 + config.encoder_fraction) * (code.k / 64)
    return EnergyBreakdown(
        code=code.name, write_energy_per_bit=write_energy_per_bit, cell_area_f2=cell_area_f2,
        stored_bits=stored,
        write=stored * write_energy_per_bit,
        encode=n_words * decoder * config.encoder_fraction,
        read=reads * stored * config.read_energy_per_bit,
        decode=reads * n_words * decoder,
        compute=reads * n_synapses * config.compute_energy_per_synapse,
        cell_area=stored * cell_area_f2 * config.feature**2,
        logic_area=n_macros * logic_gates * config.gate_area)
