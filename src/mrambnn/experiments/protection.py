"""Selective protection: one write condition per layer, the cheapest memory that keeps the
network's accuracy within a tolerance.

A write condition (`WriteOption`) is a code and the raw BER its cells are programmed at:
no code with a weak pulse at some raw BER, or an ECC code (or none) with the strong pulse
that meets a reliability target. Its cost for a layer is the system cost of that layer's
memory (`mrambnn.experiments.budget_table.budget_row`: write, encode, read, decode and
compute energy per deployment; cells and ECC logic area), its predicted harm the layer's
accuracy drop at the option's residual BER with only that layer exposed (the layer's
sensitivity curve, `mrambnn.experiments.sensitivity`, interpolated in log BER, made
non-decreasing, zero at BER 0).

`optimal_assignment` solves the additive model exactly: minimise the summed energy (or the
product of summed energy and summed area) subject to the summed predicted drops staying
within a budget, by dynamic programming over the Pareto set of partial assignments (no
discretisation). The additive model is only a guide: `protect` checks the chosen
assignment with a full Monte Carlo of the network under it and, while the upper end of the
drop's confidence interval exceeds the tolerance, shrinks the model's budget and solves
again. The best uniform assignment (one option for every layer) is found by Monte Carlo
directly, bisecting over the options ordered by residual BER, with the same check, so the
two are compared at the same verified tolerance.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from mrambnn.engine import PackedNet, accuracy
from mrambnn.experiments.budget_table import ECC_CODES, budget_row
from mrambnn.experiments.draws import DrawPlan, evaluate_points
from mrambnn.experiments.sensitivity import SensitivityResult
from mrambnn.experiments.stats import MeanInterval, json_number, mean_interval
from mrambnn.memory import BitFlip, FaultModel
from mrambnn.memory.cost import CostConfig
from mrambnn.memory.ecc_channel import ECCProtected
from mrambnn.memory.ecc_rates import raw_ber_for_residual, residual_ber
from mrambnn.memory.faults import LayerwiseFaults
from mrambnn.physics.energy import WriteCircuit
from mrambnn.physics.mtj import MTJ

__all__ = ["WEAK_BERS", "Assignment", "ProtectionResult", "WriteOption", "assignment_faults",
           "layer_costs", "optimal_assignment", "predicted_drops", "protect", "read_assignment",
           "write_options"]

WEAK_BERS = (1e-6, 1e-5, 1e-4, 3e-4, 1e-3, 2e-3, 5e-3, 1e-2, 2e-2, 5e-2, 1e-1)
MAX_ROUNDS = 6  # model budgets tried before giving up on a verified assignment
SHRINK = 0.7  # the model budget's largest factor from one round to the next


@dataclass(frozen=True, kw_only=True)
class WriteOption:
    """How one layer's weights are written.

    Attributes:
        label: e.g. 'none @ 1e-03' or 'secded-72-64 (strong)'.
        code: an `mrambnn.memory.ecc` code name ('none': no code).
        raw_ber: raw BER of the stored bits the pulse is programmed for.
        residual_ber: BER of the data bits the network reads (after decoding).
    """

    label: str
    code: str
    raw_ber: float
    residual_ber: float

    def fault(self) -> FaultModel:
        """The fault model of a layer written under this option."""
        if self.code == "none":
            return BitFlip(ber=self.raw_ber)
        return ECCProtected(code=self.code, raw_ber=self.raw_ber)


def write_options(weak_bers: Sequence[float] = WEAK_BERS, *, codes: Sequence[str] = ECC_CODES,
                  target: float = 1e-9) -> tuple[WriteOption, ...]:
    """Weak pulses without code at each of ``weak_bers``, then the strong pulse (raw BER
    whose uncorrectable word rate is ``target``) without code and under each code."""
    weak = [WriteOption(label=f"none @ {b:.0e}", code="none", raw_ber=float(b),
                        residual_ber=float(b)) for b in weak_bers]
    strong = []
    for code in ("none", *codes):
        raw = raw_ber_for_residual(code, target)
        strong.append(WriteOption(label=f"{code} (strong)", code=code, raw_ber=raw,
                                  residual_ber=residual_ber(code, raw)))
    return (*weak, *strong)


def layer_costs(net: PackedNet, options: Sequence[WriteOption], *, mtj: MTJ,
                circuit: WriteCircuit, config: CostConfig
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """System energy per deployment (J), area (m^2) and the energy of writing alone (the
    pulses and the encoder, J) of each layer's memory under each option: three (layers,
    options) arrays."""
    energy = np.empty((len(net.layers), len(options)))
    area, writing = np.empty_like(energy), np.empty_like(energy)
    for i, layer in enumerate(net.layers):
        for k, option in enumerate(options):
            row = budget_row(option.label, option.code, option.raw_ber, mtj=mtj,
                             circuit=circuit, config=config, n_synapses=layer.n_weights,
                             data_bits=layer.weight_words.size * 64)
            energy[i, k], area[i, k] = row.cost.total_energy, row.cost.total_area
            writing[i, k] = row.cost.write + row.cost.encode
    return energy, area, writing


def _isotonic(values: np.ndarray) -> np.ndarray:
    """The non-decreasing sequence closest to ``values`` in least squares (pool adjacent
    violators): noise in a measured curve is averaged, not carried up as a running
    maximum would."""
    blocks: list[list[float]] = []  # [mean, size]
    for v in values:
        blocks.append([float(v), 1.0])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            (m1, n1), (m2, n2) = blocks[-2], blocks.pop()
            blocks[-1] = [(m1 * n1 + m2 * n2) / (n1 + n2), n1 + n2]
    return np.concatenate([np.full(int(n), m) for m, n in blocks])


def _drop_curve(bers: Sequence[float], drops: Sequence[float], at: float) -> float:
    """A sensitivity curve's drop at BER ``at``: the isotonic (non-decreasing) fit of the
    measured drops, 0 at BER 0 and clipped at 0, linear in BER below the first nonzero
    grid point, log-linear between grid points, the last value beyond the grid."""
    grid = np.asarray(bers, dtype=np.float64)
    order = np.argsort(grid)
    grid = grid[order]
    values = np.maximum(_isotonic(np.asarray(drops, dtype=np.float64)[order]), 0.0)
    nonzero = grid > 0
    x, y = grid[nonzero], values[nonzero]
    if at <= 0:
        return 0.0
    if at <= x[0]:
        return float(y[0] * at / x[0])
    return float(np.interp(np.log(at), np.log(x), y))


def predicted_drops(sensitivity: SensitivityResult, options: Sequence[WriteOption]
                    ) -> tuple[np.ndarray, np.ndarray]:
    """The additive model's inputs: (layers, options) predicted drop of each layer alone
    under each option, and (options,) the drop of the whole network under each option
    written uniformly (from the uniform curve)."""
    clean = sensitivity.clean_accuracy
    bers = [p.ber for p in sensitivity.uniform.points]
    alone = np.array([[_drop_curve([p.ber for p in s.alone.points],
                                   [clean - p.summary().mean for p in s.alone.points],
                                   o.residual_ber) for o in options]
                      for s in sensitivity.layers])
    uniform = np.array([_drop_curve(bers, [clean - p.summary().mean
                                           for p in sensitivity.uniform.points],
                                    o.residual_ber) for o in options])
    return alone, uniform


def _pareto(drop: np.ndarray, energy: np.ndarray, area: np.ndarray | None) -> np.ndarray:
    """Indices of the points no other point beats in drop, energy (and area)."""
    order = np.lexsort((energy, drop) if area is None else (area, energy, drop))
    kept: list[int] = []
    best_energy = np.inf
    for i in order:
        if area is None:
            if energy[i] < best_energy:
                kept.append(int(i))
                best_energy = energy[i]
            continue
        if kept:
            k = np.array(kept)
            if np.any((energy[k] <= energy[i]) & (area[k] <= area[i])):
                continue
        kept.append(int(i))
    return np.array(kept, dtype=np.int64)


def optimal_assignment(drops: np.ndarray, energy: np.ndarray, budget: float, *,
                       area: np.ndarray | None = None) -> tuple[int, ...] | None:
    """The option index per layer minimising the summed ``energy`` (with ``area``: the
    product of summed energy and summed area) subject to the summed ``drops`` being at
    most ``budget``; exact (module docstring). None if no assignment fits the budget.

    Args:
        drops, energy, area: (layers, options) arrays, energy and area > 0.
    """
    n_layers, n_options = drops.shape
    d, e = np.zeros(1), np.zeros(1)
    a = np.zeros(1) if area is not None else None
    choice = np.zeros((1, 0), dtype=np.int64)
    slack = 1e-12 * max(1.0, abs(budget))
    for i in range(n_layers):
        d = (d[:, None] + drops[i][None, :]).ravel()
        e = (e[:, None] + energy[i][None, :]).ravel()
        if a is not None and area is not None:
            a = (a[:, None] + area[i][None, :]).ravel()
        choice = np.concatenate([np.repeat(choice, n_options, axis=0),
                                 np.tile(np.arange(n_options), len(choice))[:, None]], axis=1)
        fits = np.flatnonzero(d <= budget + slack)
        if fits.size == 0:
            return None
        kept = fits[_pareto(d[fits], e[fits], None if a is None else a[fits])]
        d, e, choice = d[kept], e[kept], choice[kept]
        if a is not None:
            a = a[kept]
    objective = e if a is None else e * a
    best = int(np.argmin(objective))
    return tuple(int(k) for k in choice[best])


def assignment_faults(options: Sequence[WriteOption], assignment: Sequence[int]
                      ) -> LayerwiseFaults:
    """The per-layer fault model of an assignment (an option index per layer)."""
    return LayerwiseFaults(faults=tuple(options[k].fault() for k in assignment))


@dataclass(frozen=True, kw_only=True)
class Assignment:
    """A verified assignment: the option per layer, its cost, its predicted drop and the
    Monte Carlo drop (clean minus accuracy, per draw) with its interval.

    Attributes:
        options: option index per layer.
        labels: the options' labels per layer.
        energy: system energy per deployment, J (sum over layers).
        area: memory area, m^2 (sum over layers).
        write_energy: the part of ``energy`` spent writing (pulses and encoder), J.
        predicted_drop: the additive model's drop.
        budget: the model budget it was solved under.
        drops: (draws,) measured accuracy drops.
        check: mean and confidence interval of ``drops``.
        passed: whether the interval's upper end is within the tolerance.
    """

    options: tuple[int, ...]
    labels: tuple[str, ...]
    energy: float
    area: float
    write_energy: float
    predicted_drop: float
    budget: float
    drops: tuple[float, ...]
    check: MeanInterval
    passed: bool

    def to_dict(self) -> dict[str, Any]:
        c = self.check
        return {"options": list(self.options), "labels": list(self.labels),
                "energy": self.energy, "area": self.area, "write_energy": self.write_energy,
                "predicted_drop": self.predicted_drop, "budget": self.budget,
                "drops": list(self.drops), "drop_mean": c.mean,
                "drop_ci_low": json_number(c.low), "drop_ci_high": json_number(c.high),
                "passed": self.passed}


@dataclass(frozen=True, kw_only=True)
class ProtectionResult:
    """Selective protection of one network: every round of the per-layer search and of
    the uniform baseline, and the verified winners (None where no round passed)."""

    model: str
    tolerance: float
    objective: str
    options: tuple[WriteOption, ...]
    clean_accuracy: float
    per_layer_rounds: tuple[Assignment, ...]
    uniform_rounds: tuple[Assignment, ...]
    n_images: int
    n_draws: int

    @property
    def per_layer(self) -> Assignment | None:
        passed = [a for a in self.per_layer_rounds if a.passed]
        return min(passed, key=lambda a: a.energy) if passed else None

    @property
    def uniform(self) -> Assignment | None:
        passed = [a for a in self.uniform_rounds if a.passed]
        return min(passed, key=lambda a: a.energy) if passed else None

    def ratios(self) -> tuple[float, float, float] | None:
        """Best uniform over per-layer: (system energy, area, write energy) ratios."""
        if self.per_layer is None or self.uniform is None:
            return None
        return (self.uniform.energy / self.per_layer.energy,
                self.uniform.area / self.per_layer.area,
                self.uniform.write_energy / self.per_layer.write_energy)

    def to_dict(self) -> dict[str, Any]:
        ratios = self.ratios()
        return {"kind": "protection", "model": self.model, "tolerance": self.tolerance,
                "objective": self.objective, "clean_accuracy": self.clean_accuracy,
                "n_images": self.n_images, "n_draws": self.n_draws,
                "options": [vars(o) for o in self.options],
                "per_layer_rounds": [a.to_dict() for a in self.per_layer_rounds],
                "uniform_rounds": [a.to_dict() for a in self.uniform_rounds],
                "energy_ratio": None if ratios is None else ratios[0],
                "area_ratio": None if ratios is None else ratios[1],
                "write_energy_ratio": None if ratios is None else ratios[2]}


def protect(
    net: PackedNet,
    images: np.ndarray,
    labels: np.ndarray,
    sensitivity: SensitivityResult,
    *,
    mtj: MTJ,
    circuit: WriteCircuit | None = None,
    cost: CostConfig | None = None,
    options: Sequence[WriteOption] | None = None,
    tolerance: float = 0.005,
    objective: str = "energy",
    n_draws: int = 10,
    seed: int = 2019,
    confidence: float = 0.95,
    workers: int = 1,
    progress: Callable[[str, int], Callable[[int], None]] | None = None,
) -> ProtectionResult:
    """The cheapest per-layer assignment whose Monte Carlo drop stays within
    ``tolerance`` (accuracy fraction, e.g. 0.005 = half a point), and the best uniform
    one under the same check (module docstring).

    Args:
        images, labels: the images of the Monte Carlo check (N, H, W, C), (N,).
        sensitivity: the network's per-layer curves (the additive model's drops).
        circuit, cost: the write path and the cost model (None: their defaults).
        objective: 'energy' or 'energy-area' (the product of energy and area).
        n_draws: draws of each check; ``confidence`` the level of its interval.
    """
    if objective not in ("energy", "energy-area"):
        raise ValueError(f"unknown objective {objective!r}; choose energy or energy-area")
    if not 0 < tolerance < 1:
        raise ValueError(f"tolerance must be an accuracy drop in (0, 1), got {tolerance}")
    if len(sensitivity.layers) != len(net.layers):
        raise ValueError("the sensitivity result is of another network")
    options = tuple(write_options() if options is None else options)
    energy, area, writing = layer_costs(net, options, mtj=mtj,
                                        circuit=circuit or WriteCircuit(),
                                        config=cost or CostConfig())
    alone, uniform = predicted_drops(sensitivity, options)
    labels = np.asarray(labels)
    clean = accuracy(net, images, labels)  # on exactly the images of the checks
    checked = 0

    def check(assignment: tuple[int, ...], budget: float, predicted: float) -> Assignment:
        nonlocal checked
        checked += 1
        faults = assignment_faults(options, assignment)
        plan = DrawPlan(fault_for=lambda _key: faults, seed=seed, layers=None)
        tick = progress(f"{sensitivity.model} protection check {checked}", n_draws) \
            if progress else None
        [(_key, accuracies)] = list(evaluate_points(net, images, labels, plan,
                                                    [(float(checked), n_draws)],
                                                    workers=workers, progress=tick))
        drops = tuple(clean - a for a in accuracies)
        interval = mean_interval(np.array(drops), confidence=confidence, bounds=(-1, 1))
        high = interval.mean if np.isnan(interval.high) else interval.high
        rows = np.arange(len(assignment))
        return Assignment(options=assignment, labels=tuple(options[k].label for k in assignment),
                          energy=float(energy[rows, assignment].sum()),
                          area=float(area[rows, assignment].sum()),
                          write_energy=float(writing[rows, assignment].sum()),
                          predicted_drop=predicted, budget=budget, drops=drops,
                          check=interval, passed=bool(high <= tolerance))

    def search(solve: Callable[[float], tuple[tuple[int, ...], float] | None]
               ) -> tuple[Assignment, ...]:
        rounds: list[Assignment] = []
        budget = tolerance
        failed: set[tuple[int, ...]] = set()
        while len(rounds) < MAX_ROUNDS:
            solved = solve(budget)
            if solved is None:
                break
            if solved[0] in failed:  # the model cannot tell it from a failed one: stop
                break
            found = check(solved[0], budget, solved[1])
            rounds.append(found)
            if found.passed:
                break
            failed.add(found.options)
            high = found.check.mean if np.isnan(found.check.high) else found.check.high
            budget *= min(SHRINK, tolerance / max(high, 1e-12))
        return tuple(rounds)

    def solve_per_layer(budget: float) -> tuple[tuple[int, ...], float] | None:
        found = optimal_assignment(alone, energy, budget,
                                   area=area if objective == "energy-area" else None)
        if found is None:
            return None
        return found, float(alone[np.arange(len(found)), found].sum())

    def search_uniform() -> tuple[Assignment, ...]:
        """The cheapest uniform option whose check passes: bisection for the weakest
        passing option over the options ordered from the largest residual BER to the
        smallest (the drop falls along it; the strongest is taken to pass), each step a
        check; then the cheapest of that option and the stronger ones, checked."""
        total_e, total_a = energy.sum(axis=0), area.sum(axis=0)
        score = total_e if objective == "energy" else total_e * total_a
        order = sorted(range(len(options)), key=lambda k: -options[k].residual_ber)
        n = len(net.layers)
        rounds: list[Assignment] = []
        low, high = 0, len(order) - 1
        while low < high:
            middle = (low + high) // 2
            k = order[middle]
            found = check((k,) * n, tolerance, float(uniform[k]))
            rounds.append(found)
            if found.passed:
                high = middle
            else:
                low = middle + 1
        cheapest = min(order[high:], key=lambda k: score[k])
        if not any(r.options[0] == cheapest for r in rounds):
            rounds.append(check((cheapest,) * n, tolerance, float(uniform[cheapest])))
        return tuple(rounds)

    return ProtectionResult(
        model=sensitivity.model, tolerance=tolerance, objective=objective, options=options,
        clean_accuracy=clean, per_layer_rounds=search(solve_per_layer),
        uniform_rounds=search_uniform(), n_images=len(images), n_draws=n_draws)


def read_assignment(data: dict[str, Any], n_layers: int) -> tuple[WriteOption, ...]:
    """The write option of each of ``n_layers`` layers from a protection result (its
    verified per-layer winner) as `ProtectionResult.to_dict` wrote it; ValueError saying
    what is wrong otherwise."""
    if not isinstance(data, dict) or data.get("kind") != "protection":
        raise ValueError("not a protection result (mrambnn protect writes one)")
    try:
        options = [WriteOption(label=str(o["label"]), code=str(o["code"]),
                               raw_ber=float(o["raw_ber"]),
                               residual_ber=float(o["residual_ber"]))
                   for o in data["options"]]
        passed = [r for r in data["per_layer_rounds"] if r["passed"]]
        if not passed:
            raise ValueError("it holds no verified per-layer assignment")
        best = min(passed, key=lambda r: float(r["energy"]))
        chosen = tuple(options[int(k)] for k in best["options"])
    except (KeyError, TypeError, IndexError) as error:
        raise ValueError(f"not a valid protection result: {error!r}") from error
    if len(chosen) != n_layers:
        raise ValueError(f"the assignment covers {len(chosen)} layers, the network has "
                         f"{n_layers}")
    return chosen
