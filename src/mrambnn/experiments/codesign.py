"""Co-design of the cell's thermal stability with the write pulse and the refresh
interval: the delta and pulse that minimise energy per inference for a use.

A lower delta makes writes cheaper and cells smaller (ic0, so the write current and the
access transistor, scale with delta: `scaled_delta`) but the stored weights decay faster
(retention) and each read disturbs them more, so they must be rewritten (refreshed) more
often. For a use (inferences per second, deployment time) and a network whose BER sweep
gives the tolerable raw BER ``B`` (accuracy drop at most the tolerance), each candidate
splits ``B`` between the write and what accumulates until the next refresh:

- write: raw BER ``b_w`` reached by the cheapest pulse of each searched width
  (`pulse_for_ber`: both directions at WER ``b_w / switching_fraction``);
- after writing, a stored bit is wrong at time t with probability
  ``p1 (1 - (1 - r)(1 - d)) + (1 - p1) r``: ``r = (1 - exp(-2 k t)) / 2`` retention
  (``k = e^-delta / tau0``), ``d`` read disturb of the stored 1s (P state, pushed
  towards AP by the read current, ``n = rate * t`` reads), ``p1`` the network's fraction
  of 1 bits; the refresh interval T is the time at which ``b_w`` and this together reach
  ``B``.

Energy per inference = read (every stored bit once) + compute (one XNOR-popcount per
synapse) + write (every stored bit, ``max(1, ceil(D / T))`` times per deployment of D
seconds, spread over its ``rate * D`` inferences). Cells are sized for the larger write
current. The optimum is then checked by Monte Carlo on the network: written with the
optimum pulse, read ``rate * T`` times and left T seconds (the worst moment before a
refresh), `check_design`.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import brentq

from mrambnn.bits import valid_bit_mask
from mrambnn.engine import PackedNet, accuracy
from mrambnn.experiments.budget_table import (
    OPTIMIZER_WIDTHS,
    ProgrammingPoint,
    pulse_for_ber,
    pulses_for_bers,
    scaled_delta,
)
from mrambnn.experiments.draws import DrawPlan, evaluate_points
from mrambnn.experiments.lifetime import YEAR
from mrambnn.memory.cell_faults import CellRetention, ChainedFaults, Chip
from mrambnn.memory.cost import CostConfig
from mrambnn.memory.write_faults import WriteFailure
from mrambnn.physics.energy import WriteCircuit
from mrambnn.physics.mtj import MTJ
from mrambnn.physics.reliability import read_disturb_probability, retention_bit_error
from mrambnn.physics.variability import SPREAD_PRESETS

__all__ = ["USES", "CodesignConfig", "CodesignResult", "Design", "Use", "best_design",
           "candidate_pulses", "check_fault", "designs_for_delta", "ones_fraction",
           "post_write_ber", "refresh_interval", "run_codesign"]

DAY = 24 * 3600.0  # s


@dataclass(frozen=True, kw_only=True)
class Use:
    """How a deployed network is used: ``rate`` inferences per second for ``deployment``
    seconds, after which new weights are written anyway."""

    name: str
    rate: float
    deployment: float
    description: str = ""

    def __post_init__(self) -> None:
        if not (self.rate > 0 and self.deployment > 0):
            raise ValueError(f"use {self.name!r}: need rate > 0 /s and deployment > 0 s")

    @property
    def inferences(self) -> float:
        return self.rate * self.deployment


USES = (
    Use(name="sensor", rate=1.0, deployment=10 * YEAR,
        description="always-on sensor: one inference per second for ten years"),
    Use(name="video", rate=1000.0, deployment=DAY,
        description="video analytics: 1000 inferences per second, new weights every day"),
    Use(name="wake-up", rate=1 / 3600.0, deployment=10 * YEAR,
        description="rare wake-up: one inference per hour for ten years"),
)


@dataclass(frozen=True, kw_only=True)
class CodesignConfig:
    """The searched designs and the assumptions that price them.

    Attributes:
        deltas: thermal stability factors searched (multiples of 10 in 20..90 use the
            shipped switching tables; others are computed on first use, about a minute).
        widths: pulse widths searched, s.
        write_shares: fractions of the tolerable BER given to the write (the rest to
            retention and read disturb).
        read_current_ratio: read current over the P->AP critical current of the cell
            (the read pushes P cells towards AP); 0.2 assumed (reads are kept well below
            the critical current; the read-disturb term of `physics.reliability`).
        read_duration: s per read (5 ns assumed, a 28 nm read).
        cost: read and compute energies, switching fraction (`mrambnn.memory.cost`).
        energy_slack: designs within this fraction of the lowest energy per inference
            count as equal; the smallest cell among them is picked (`best_design`).
    """

    deltas: tuple[float, ...] = (20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0)
    widths: tuple[float, ...] = OPTIMIZER_WIDTHS
    write_shares: tuple[float, ...] = tuple(float(s) for s in 1 - np.geomspace(0.99, 0.01, 15))
    read_current_ratio: float = 0.2
    read_duration: float = 5e-9
    cost: CostConfig = CostConfig()
    energy_slack: float = 0.01

    def __post_init__(self) -> None:
        if not self.deltas or not self.widths or not self.write_shares:
            raise ValueError("need deltas, widths and write shares")
        if not all(0 < s < 1 for s in self.write_shares):
            raise ValueError("write shares must be in (0, 1)")
        if self.energy_slack < 0:
            raise ValueError("energy_slack must be >= 0")
        if not 0 <= self.read_current_ratio < 1 or self.read_duration <= 0:
            raise ValueError("need 0 <= read_current_ratio < 1 and read_duration > 0 s")


def post_write_ber(mtj: MTJ, time: float, *, rate: float, ones: float,
                   config: CodesignConfig) -> float:
    """Raw BER that accumulates ``time`` (s) after an error-free write: retention, and
    read disturb of the stored 1s from ``rate * time`` reads (module docstring).

    Args:
        ones: fraction of stored bits that are 1 (P state).
    """
    retention = retention_bit_error(mtj, time=time)
    disturb = read_disturb_probability(  # rate * time reads, as a continuous count
        mtj, current=config.read_current_ratio * mtj.ic0_p2ap,
        duration=config.read_duration, n_reads=rate * time)  # type: ignore[arg-type]
    return ones * (1 - (1 - retention) * (1 - disturb)) + (1 - ones) * retention


def refresh_interval(mtj: MTJ, budget: float, *, rate: float, ones: float,
                     config: CodesignConfig) -> float:
    """Time (s) after which the post-write BER reaches ``budget`` (it rises monotonically
    towards 1/2 and beyond for the 1s); infinite beyond 1e6 years."""
    def excess(log_time: float) -> float:
        return post_write_ber(mtj, math.exp(log_time), rate=rate, ones=ones,
                              config=config) - budget
    low, high = math.log(1e-12), math.log(1e6 * YEAR)
    if excess(high) < 0:
        return math.inf
    if excess(low) >= 0:
        return 0.0
    return math.exp(brentq(excess, low, high, xtol=1e-9))


@dataclass(frozen=True, kw_only=True)
class Design:
    """One candidate: device, pulse, refresh interval and energy per inference (J).

    Attributes:
        delta: thermal stability factor; ``ic0_p2ap`` its critical current, A.
        widths, currents: (AP->P, P->AP) pulse widths (s; the searched width, longer
            where the supply cannot drive the current) and currents (A).
        write_ber: raw BER of the write; ``energy_per_bit``: J per stored bit per write.
        cell_area_f2: 1T1R cell area, F^2.
        refresh: refresh interval, s (inf: never).
        writes: writes of the whole network per deployment.
        write, read, compute: energy per inference of each part, J.
    """

    delta: float
    ic0_p2ap: float
    widths: tuple[float, float]
    currents: tuple[float, float]
    write_ber: float
    energy_per_bit: float
    cell_area_f2: float
    refresh: float
    writes: float
    write: float
    read: float
    compute: float

    @property
    def total(self) -> float:
        return self.write + self.read + self.compute

    def as_dict(self) -> dict[str, Any]:
        return {"delta": self.delta, "ic0_p2ap": self.ic0_p2ap,
                "width_ap2p": self.widths[0], "width_p2ap": self.widths[1],
                "current_ap2p": self.currents[0], "current_p2ap": self.currents[1],
                "write_ber": self.write_ber, "energy_per_bit": self.energy_per_bit,
                "cell_area_f2": self.cell_area_f2,
                "refresh": None if math.isinf(self.refresh) else self.refresh,
                "writes": self.writes, "write": self.write, "read": self.read,
                "compute": self.compute, "total": self.total}


def candidate_pulses(mtj: MTJ, tolerable: float, *, circuit: WriteCircuit,
                     config: CodesignConfig) -> list[ProgrammingPoint]:
    """The pulses of every searched (write share, width) on ``mtj``: raw BER ``share *
    tolerable`` at each width (`pulses_for_bers`); pairs that cannot be reached even
    lengthened at the supply's largest current are left out."""
    pairs = [(share * tolerable, width) for width in config.widths
             for share in config.write_shares]
    fraction = config.cost.switching_fraction
    try:
        return pulses_for_bers(mtj, circuit, [b for b, _ in pairs],
                               widths=[w for _, w in pairs], switching_fraction=fraction)
    except ValueError:  # some pair is out of reach: one by one
        found = []
        for ber, width in pairs:
            try:
                found.append(pulse_for_ber(mtj, circuit, ber, width=width,
                                           switching_fraction=fraction))
            except ValueError:
                continue
        return found


def designs_for_delta(base: MTJ, delta: float, *, tolerable: float, use: Use,
                      n_synapses: int, stored_bits: int, ones: float,
                      pulses: Sequence[ProgrammingPoint], config: CodesignConfig
                      ) -> list[Design]:
    """Every candidate at ``delta`` for ``use``: each of ``pulses`` (`candidate_pulses`
    of ``base`` scaled to delta, `scaled_delta`) with the refresh interval its share of
    the tolerable BER leaves."""
    mtj = scaled_delta(base, delta)
    cost = config.cost
    refresh: dict[float, float] = {}
    designs = []
    for pulse in pulses:
        if pulse.raw_ber not in refresh:
            refresh[pulse.raw_ber] = refresh_interval(mtj, tolerable - pulse.raw_ber,
                                                      rate=use.rate, ones=ones,
                                                      config=config)
        interval = refresh[pulse.raw_ber]
        if interval <= 0:
            continue
        writes = max(1.0, math.ceil(use.deployment / interval))
        designs.append(Design(
            delta=delta, ic0_p2ap=mtj.ic0_p2ap, widths=pulse.widths, currents=pulse.currents,
            write_ber=pulse.raw_ber, energy_per_bit=pulse.energy_per_bit,
            cell_area_f2=pulse.cell_area_f2, refresh=interval, writes=writes,
            write=stored_bits * pulse.energy_per_bit * writes / use.inferences,
            read=stored_bits * cost.read_energy_per_bit,
            compute=n_synapses * cost.compute_energy_per_synapse))
    return designs


def best_design(designs: Sequence[Design], slack: float = 0.0) -> Design:
    """The design a designer picks: among those within ``slack`` (relative) of the lowest
    energy per inference, the smallest cell, then the lowest energy."""
    if not designs:
        raise ValueError("no feasible design")
    lowest = min(d.total for d in designs)
    near = [d for d in designs if d.total <= lowest * (1 + slack)]
    return min(near, key=lambda d: (d.cell_area_f2, d.total))


@dataclass(frozen=True, kw_only=True)
class CodesignResult:
    """One network and one use: the tolerable BER, the design picked at each delta, the
    optimum over deltas and its Monte Carlo check.

    Attributes:
        per_delta: the design picked (`best_design`) at each searched delta that has one.
        best: the optimum over deltas (picked the same way).
        check: accuracies of the optimum's Monte Carlo draws (written with its pulse, read
            ``rate * T`` times, left ``T`` = min(refresh, deployment) seconds); ``clean``:
            the error-free accuracy on the same images.
    """

    use: Use
    tolerable_ber: float
    ones: float
    per_delta: tuple[Design, ...]
    best: Design
    check: tuple[float, ...]
    clean: float

    def as_dict(self) -> dict[str, Any]:
        return {"use": {"name": self.use.name, "rate": self.use.rate,
                        "deployment": self.use.deployment,
                        "description": self.use.description},
                "tolerable_ber": self.tolerable_ber, "ones": self.ones,
                "per_delta": [d.as_dict() for d in self.per_delta],
                "best": self.best.as_dict(), "check": list(self.check), "clean": self.clean}


def ones_fraction(net: PackedNet) -> float:
    """Fraction of the network's stored weight bits that are 1 (+1 weights)."""
    ones = total = 0
    for layer, words in zip(net.layers, net.weight_words, strict=True):
        valid = valid_bit_mask(layer.in_features)
        ones += int(np.bitwise_count(words & valid).sum())
        total += words.shape[0] * layer.in_features
    return ones / total


def check_fault(base: MTJ, design: Design, use: Use, shapes: list[tuple[int, int]],
                config: CodesignConfig) -> ChainedFaults:
    """The fault channel of ``design`` at its worst moment: the write at its raw BER,
    then retention and read disturb until the refresh (or the deployment's end)."""
    mtj = scaled_delta(base, design.delta)
    wer = design.write_ber / config.cost.switching_fraction
    time = min(design.refresh, use.deployment)
    chip = Chip.for_shapes(mtj, SPREAD_PRESETS["none"], shapes, rng=np.random.default_rng(0))
    after = CellRetention(chip=chip, time=time, n_reads=int(round(use.rate * time)),
                          read_current=config.read_current_ratio * mtj.ic0_p2ap,
                          read_duration=config.read_duration)
    return ChainedFaults(stages=(WriteFailure(wer_ap2p=wer, wer_p2ap=wer, prior="random"),
                                 after))


def run_codesign(net: PackedNet, images: np.ndarray, labels: np.ndarray, *, base: MTJ,
                 tolerable: float, uses: Sequence[Use] = USES,
                 config: CodesignConfig = CodesignConfig(),
                 circuit: WriteCircuit | None = None, n_draws: int = 10, seed: int = 2019,
                 workers: int = 1) -> tuple[CodesignResult, ...]:
    """The co-design of ``net`` for each of ``uses`` (module docstring), each optimum
    checked with ``n_draws`` Monte Carlo draws on ``images``.

    Args:
        base: the device technology; each searched delta scales it (`scaled_delta`).
        tolerable: the network's tolerable raw BER (`tolerable_ber` of its BER sweep).
        circuit: the write path (None: `WriteCircuit()`).
    """
    circuit = WriteCircuit() if circuit is None else circuit
    stored_bits = int(sum(w.size for w in net.weight_words)) * 64
    ones = ones_fraction(net)
    clean = accuracy(net, images, labels)
    shapes = [(layer.out_features, layer.in_features) for layer in net.layers]
    pulses = {delta: candidate_pulses(scaled_delta(base, delta), tolerable, circuit=circuit,
                                      config=config) for delta in config.deltas}
    picks = []
    for use in uses:
        per_delta = []
        for delta in config.deltas:
            found = designs_for_delta(base, delta, tolerable=tolerable, use=use,
                                      n_synapses=net.n_weights, stored_bits=stored_bits,
                                      ones=ones, pulses=pulses[delta], config=config)
            if found:
                per_delta.append(best_design(found, config.energy_slack))
        picks.append((use, tuple(per_delta), best_design(per_delta, config.energy_slack)))
    # one evaluator for every check: point key i is the pick of use i
    faults = [check_fault(base, best, use, shapes, config) for use, _, best in picks]
    plan = DrawPlan(fault_for=lambda key: faults[int(key)], seed=seed,  # type: ignore
                    layers=None)
    checks = dict(evaluate_points(net, images, labels, plan,
                                  [(float(i), n_draws) for i in range(len(picks))],
                                  workers=workers))
    return tuple(CodesignResult(use=use, tolerable_ber=tolerable, ones=ones,
                                per_delta=per_delta, best=best, check=checks[float(i)],
                                clean=clean)
                 for i, (use, per_delta, best) in enumerate(picks))
