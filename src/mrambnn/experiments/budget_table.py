"""The system budget: ECC with strong pulses against no ECC with weak pulses.

(a) A conventional memory protects each word with a code and programs it at the raw BER
    that meets a reliability target (default: uncorrectable word rate 1e-9).
(b) The BNN memory drops the code and programs at the largest BER whose measured mean
    accuracy stays within a tolerance of the clean accuracy (its BER sweep).
Both turn their raw BER into a write pulse with the same physics: at a fixed width, the
current for which ``switching_fraction * mean(WER_ap2p, WER_p2ap) = BER``; that current
sizes the access transistor and so the cell.

`cheapest_condition` is the iso-accuracy optimizer: over pulse widths and codes (none
included), the lowest-energy condition whose residual BER meets the tolerance.
"""

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from mrambnn.experiments.accuracy_drop import log_crossing
from mrambnn.memory.cost import CostConfig, EnergyBreakdown, system_cost
from mrambnn.memory.ecc import CODE_NAMES, get_code
from mrambnn.memory.ecc_rates import raw_ber_for_residual
from mrambnn.physics.energy import (
    WriteCircuit,
    WritePulse,
    cell_area,
    max_current,
    pulse_at,
    pulse_energy,
)
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.switching import currents_for_wers

__all__ = ["ECC_CODES", "OPTIMIZER_WIDTHS", "BudgetRow", "BudgetTable", "Optimum",
           "ProgrammingPoint", "budget_row", "budget_table", "cheapest_condition",
           "pulse_for_ber",
           "pulses_for_bers",
           "scaled_delta", "tolerable_ber"]

ECC_CODES = tuple(c for c in CODE_NAMES if c != "none")
OPTIMIZER_WIDTHS = tuple(float(w) for w in np.geomspace(2e-9, 100e-9, 12))  # s, searched


def tolerable_ber(points: Sequence[dict[str, Any]], tolerance: float) -> float:
    """Largest raw BER whose mean accuracy is at least clean - ``tolerance``.

    ``points``: BER sweep rows (dicts with 'ber' and 'mean'), one at ber = 0 (clean).
    Interpolates linearly in log(BER) between the last passing and the first failing
    grid point; raises if even the smallest nonzero BER fails.
    """
    rows = sorted(points, key=lambda r: r["ber"])
    if not rows or rows[0]["ber"] != 0:
        raise ValueError("the BER sweep needs a clean point at ber = 0")
    target = rows[0]["mean"] - tolerance
    nonzero = [r for r in rows[1:] if r["ber"] > 0]
    if not nonzero or nonzero[0]["mean"] < target:
        raise ValueError("no swept BER keeps the accuracy within the tolerance")
    crossing = log_crossing([r["ber"] for r in nonzero], [r["mean"] for r in nonzero], target,
                            rising=False)
    return float(nonzero[-1]["ber"]) if crossing is None else crossing


@dataclass(frozen=True, kw_only=True)
class ProgrammingPoint:
    """The write pulses that reach a raw BER and their cost per stored bit.

    Attributes:
        raw_ber: the raw bit error rate reached.
        wer: the WER each direction is programmed at (``raw_ber / switching_fraction``).
        currents, widths: (AP->P, P->AP) pulse currents (A) and widths (s).
        energy_per_bit: mean pulse energy of the two directions, J.
        cell_area_f2: 1T1R cell sized for the larger current, F^2.
    """

    raw_ber: float
    wer: float
    currents: tuple[float, float]
    widths: tuple[float, float]
    energy_per_bit: float
    cell_area_f2: float


def pulse_for_ber(mtj: MTJ, circuit: WriteCircuit, raw_ber: float, *, width: float,
                  switching_fraction: float) -> ProgrammingPoint:
    """Pulses of ``width`` (s) whose raw BER is ``raw_ber``.

    Each direction gets the smallest current that reaches ``wer = raw_ber /
    switching_fraction`` in ``width``; where the supply cannot drive that current
    (``max_current``), the pulse is lengthened at the largest current instead.
    """
    return pulses_for_bers(mtj, circuit, [raw_ber], widths=[width],
                           switching_fraction=switching_fraction)[0]


def pulses_for_bers(mtj: MTJ, circuit: WriteCircuit, raw_bers: Sequence[float], *,
                    widths: Sequence[float], switching_fraction: float
                    ) -> list[ProgrammingPoint]:
    """`pulse_for_ber` for each pair of ``raw_bers`` and ``widths`` (s), the currents
    found together; raises ValueError if a pair cannot be reached at all."""
    raw = np.asarray(raw_bers, dtype=np.float64)
    width_array = np.asarray(widths, dtype=np.float64)
    if raw.shape != width_array.shape:
        raise ValueError("need one width per raw BER")
    if np.any(~(raw > 0)) or np.any(~(raw < 0.5 * switching_fraction)):
        raise ValueError(f"raw BER must be in (0, {0.5 * switching_fraction}), got "
                         f"{raw_bers}")
    wers = raw / switching_fraction
    pulses: dict[str, list[WritePulse]] = {}
    for direction in ("ap2p", "p2ap"):
        top = max_current(mtj, circuit, direction)
        found = currents_for_wers(mtj, wers, width=width_array, direction=direction)
        lengthened: dict[float, WritePulse] = {}  # the same pulse whatever the width asked
        pulses[direction] = []
        for current, wer, width in zip(found, wers, width_array, strict=True):
            if current <= top:
                pulse = WritePulse(current=float(current), width=float(width), wer=float(wer),
                                   energy=pulse_energy(circuit, current=float(current),
                                                       width=float(width)),
                                   transistor_width=0.0,
                                   area_f2=cell_area(circuit, float(current)))
            else:
                if wer not in lengthened:
                    lengthened[wer] = pulse_at(mtj, circuit, wer=float(wer), current=top,
                                               direction=direction)
                pulse = lengthened[wer]
            pulses[direction].append(pulse)
    return [ProgrammingPoint(raw_ber=float(r), wer=float(w),
                             currents=(up.current, down.current),
                             widths=(up.width, down.width),
                             energy_per_bit=float(np.mean([up.energy, down.energy])),
                             cell_area_f2=cell_area(circuit, max(up.current, down.current)))
            for r, w, up, down in zip(raw, wers, pulses["ap2p"], pulses["p2ap"], strict=True)]


@dataclass(frozen=True, kw_only=True)
class BudgetRow:
    """One memory configuration: its code, pulse and system cost."""

    label: str
    pulse: ProgrammingPoint
    cost: EnergyBreakdown

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "raw_ber": self.pulse.raw_ber, "wer": self.pulse.wer,
                "current_ap2p": self.pulse.currents[0], "current_p2ap": self.pulse.currents[1],
                "width_ap2p": self.pulse.widths[0], "width_p2ap": self.pulse.widths[1],
                **self.cost.as_dict()}


def budget_row(label: str, code: str, raw_ber: float, *, mtj: MTJ, circuit: WriteCircuit,
               config: CostConfig, n_synapses: int, data_bits: int) -> BudgetRow:
    """The memory ``code`` programmed at ``raw_ber`` with pulses of ``config.pulse_width``:
    its pulse and its system cost for ``n_synapses`` weights in ``data_bits`` data bits."""
    pulse = pulse_for_ber(mtj, circuit, raw_ber, width=config.pulse_width,
                          switching_fraction=config.switching_fraction)
    cost = system_cost(n_synapses=n_synapses, data_bits=data_bits, code=code,
                       write_energy_per_bit=pulse.energy_per_bit,
                       cell_area_f2=pulse.cell_area_f2, config=config)
    return BudgetRow(label=label, pulse=pulse, cost=cost)


@dataclass(frozen=True, kw_only=True)
class BudgetTable:
    """Every memory configuration at one cost setting, and the cheapest ECC one against
    the BNN memory.

    Attributes:
        rows: label -> row: each code at the reliability target '(strong)', a memory
            without code at the same target, and the BNN memory '(weak, BNN)'.
        best_ecc: label of the ECC row of lowest total energy.
        target: uncorrectable word rate the ECC memories meet.
        bnn_ber: raw BER the BNN memory is programmed at.
        energy_ratio, area_ratio: the best ECC row's total energy and area over the BNN's.
    """

    rows: dict[str, BudgetRow]
    best_ecc: str
    target: float
    bnn_ber: float
    energy_ratio: float
    area_ratio: float

    def as_dict(self) -> dict[str, Any]:
        return {"rows": {k: v.as_dict() for k, v in self.rows.items()},
                "best_ecc": self.best_ecc, "energy_ratio": self.energy_ratio,
                "area_ratio": self.area_ratio, "target": self.target, "bnn_ber": self.bnn_ber}


def budget_table(*, n_synapses: int, data_bits: int, bnn_ber: float, mtj: MTJ,
                 circuit: WriteCircuit, config: CostConfig, target: float = 1e-9
                 ) -> BudgetTable:
    """Every ECC configuration at the reliability ``target`` (uncorrectable word rate),
    a conventional no-ECC memory at the same target, and the BNN memory at ``bnn_ber``."""
    common = dict(mtj=mtj, circuit=circuit, config=config, n_synapses=n_synapses,
                  data_bits=data_bits)
    rows = {f"{code} (strong)": budget_row(f"{code} (strong)", code,
                                     raw_ber_for_residual(code, target), **common)
            for code in ECC_CODES}
    rows["none (strong)"] = budget_row("none (strong)", "none",
                                 raw_ber_for_residual("none", target), **common)
    rows["none (weak, BNN)"] = budget_row("none (weak, BNN)", "none", bnn_ber, **common)
    ecc = [rows[f"{c} (strong)"] for c in ECC_CODES]
    best = min(ecc, key=lambda r: r.cost.total_energy)
    bnn = rows["none (weak, BNN)"]
    return BudgetTable(rows=rows, best_ecc=best.label, target=target, bnn_ber=bnn_ber,
                       energy_ratio=best.cost.total_energy / bnn.cost.total_energy,
                       area_ratio=best.cost.total_area / bnn.cost.total_area)


def scaled_delta(mtj: MTJ, delta: float) -> MTJ:
    """The same junction technology at another thermal stability: ic0 scales with delta
    (macrospin: ic0 = 4 e alpha delta kB T / (hbar eta))."""
    factor = delta / mtj.delta
    return replace(mtj, delta=delta, ic0_p2ap=mtj.ic0_p2ap * factor,
                   ic0_ap2p=mtj.ic0_ap2p * factor,
                   source=f"{mtj.source}; delta scaled to {delta:g} (ic0 in proportion)")


@dataclass(frozen=True, kw_only=True)
class Optimum:
    """The iso-accuracy optimum: the cheapest feasible row, every feasible candidate, and
    the residual BER they had to meet."""

    best: BudgetRow
    candidates: tuple[BudgetRow, ...]
    tolerable_ber: float


def cheapest_condition(*, n_synapses: int, data_bits: int, tolerable: float, mtj: MTJ,
                       circuit: WriteCircuit, config: CostConfig,
                       widths: Sequence[float] = OPTIMIZER_WIDTHS,
                       codes: Sequence[str] = CODE_NAMES) -> Optimum:
    """Iso-accuracy optimizer: the (code, width, current) of lowest system energy whose
    residual BER after decoding is at most ``tolerable`` (the BNN's tolerable BER).

    Pulse widths the supply cannot serve at the needed BER are skipped; raises if none is
    left.
    """
    candidates = []
    for code in codes:
        raw = tolerable if get_code(code).t == 0 else raw_ber_for_residual(
            code, tolerable, measure="bit")
        raw = min(raw, 0.49 * config.switching_fraction)  # a BER beyond 1/2 means nothing
        for width in widths:
            try:
                row = budget_row(code, code, raw, mtj=mtj, circuit=circuit,
                           config=replace(config, pulse_width=float(width)),
                           n_synapses=n_synapses, data_bits=data_bits)
            except ValueError:
                continue
            candidates.append(row)
    if not candidates:
        raise ValueError("no pulse in the searched widths reaches the tolerable BER")
    best = min(candidates, key=lambda r: r.cost.total_energy)
    return Optimum(best=best, candidates=tuple(candidates), tolerable_ber=tolerable)
