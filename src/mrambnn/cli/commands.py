"""The subcommands: each loads its inputs, calls one library function and writes its
files; errors in the input surface as ValueError (one line, from `mrambnn.cli.main`)."""

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mrambnn.cli.arguments import bar
from mrambnn.datasets import fetch, load_dataset, load_test_set
from mrambnn.engine import accuracy, save_packed_net
from mrambnn.experiments import (
    SweepConfig,
    SweepResult,
    read_json,
    run_ber_sweep,
    write_atomic,
)
from mrambnn.experiments.after_write import AfterWrite
from mrambnn.experiments.outputs import check_writable
from mrambnn.experiments.sweep_estimate import LONG_RUN_SECONDS, estimate_sweep
from mrambnn.models import SHIPPED_MODELS, dataset_of, load_model, resolve_model_path
from mrambnn.physics.device_file import resolve_device

__all__ = ["cmd_budget", "cmd_campaign", "cmd_data", "cmd_reproduce", "cmd_sweep",
           "cmd_train", "cmd_wer"]


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cmd_data(args: argparse.Namespace) -> None:
    print(fetch(args.name, args.data_dir))


def cmd_train(args: argparse.Namespace) -> None:
    try:
        from mrambnn.nn import TrainConfig, export_packed_net, train
        from mrambnn.nn.train import recalibrate_batchnorm
    except ImportError as error:
        raise ValueError("training needs torch: pip install torch==2.13.0") from error
    if not 0.0 <= args.recalibrate_ber <= 0.5:
        raise ValueError(f"--recalibrate-ber must be in [0, 0.5], got {args.recalibrate_ber}")
    if args.init_from is not None and str(args.init_from) in SHIPPED_MODELS:
        args.init_from = resolve_model_path(str(args.init_from))
    wer_ap2p, wer_p2ap = args.train_wer or (0.0, 0.0)
    config = TrainConfig(model=args.arch, dataset=args.dataset, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, lr_final=args.lr_final,
                         max_shift=args.max_shift, hflip=args.hflip, seed=args.seed,
                         init_from=str(args.init_from or ""), average_from=args.average_from,
                         train_ber=args.train_ber, train_wer_ap2p=wer_ap2p,
                         train_wer_p2ap=wer_p2ap, train_prior=args.train_prior)
    check_writable(Path(args.out).parent)
    if args.checkpoint is not None:
        check_writable(Path(args.checkpoint).parent)
    if args.stop_after is not None and args.checkpoint is None:
        raise ValueError("--stop-after needs --checkpoint (where the epochs are kept)")
    data = load_dataset(args.dataset, args.data_dir)
    began = time.perf_counter()
    model, history = train(config, data, checkpoint=args.checkpoint, threads=args.threads,
                           stop_after=args.stop_after,
                           progress=lambda line: print(line, file=sys.stderr, flush=True))
    if args.stop_after is not None and args.stop_after < config.epochs:
        print(f"stopped after epoch {len(history)} of {config.epochs}: {args.checkpoint}")
        return
    recalibrated = bool(args.recalibrate_bn or args.average_from or args.recalibrate_ber)
    statistics = ("one augmented pass over the training set" if args.average_from
                  else "the training set" if recalibrated else "training's running averages")
    if args.recalibrate_ber:
        recalibrate_batchnorm(model, data.x_train, augment=config if args.average_from else None,
                              read_flips=(args.recalibrate_ber, args.recalibrate_ber))
        statistics += (f", the binary weights read at BER {args.recalibrate_ber:g} (a fresh "
                       "flip pattern per batch)")
    elif args.recalibrate_bn and not args.average_from:  # averaging recalibrates already
        recalibrate_batchnorm(model, data.x_train)
    net = export_packed_net(model, data.image_shape, {
        "batchnorm_recalibrated": recalibrated,
        "batchnorm_statistics": statistics,
        "architecture": args.arch, "dataset": args.dataset, "train_config": vars(config),
        "seed": args.seed, "history": history,
        "command": "mrambnn " + " ".join(sys.argv[1:]),
        "command_seconds": time.perf_counter() - began,  # a resumed run: its own part
        "init_from_sha256": _sha256(args.init_from) if args.init_from else ""})
    engine_accuracy = accuracy(net, data.x_test, data.y_test)
    net.metadata.update(test_accuracy=engine_accuracy, n_weights=net.n_weights)
    try:
        save_packed_net(net, args.out)
    except OSError as error:  # the trained weights are not lost: saved elsewhere, said
        handle, spare = tempfile.mkstemp(prefix=f"mrambnn-{Path(args.out).stem}-",
                                         suffix=".npz")
        os.close(handle)
        save_packed_net(net, Path(spare))
        raise ValueError(f"cannot write {args.out} ({error.strerror or error}); the trained "
                         f"model is saved in {spare}") from error
    print(f"test accuracy (packed engine) {100 * engine_accuracy:.2f} % -> {args.out}")


def cmd_sweep(args: argparse.Namespace) -> None:
    net = load_model(args.model)
    data = load_test_set(dataset_of(net, args.dataset, where=args.model), args.data_dir)
    touched = (args.reads or args.read_current_ua or args.delta is not None
               or args.spread != "none" or args.chip_seed or args.device != "pmtj-40nm")
    if args.after is None and touched:
        raise ValueError("--reads, --read-current-ua, --device, --delta, --spread and "
                         "--chip-seed describe the time after writing: give --after SECONDS")
    after = None if args.after is None else AfterWrite(
        time=args.after, reads=args.reads, read_current=args.read_current_ua * 1e-6,
        delta=args.delta, spread=args.spread, chip_seed=args.chip_seed,
        **AfterWrite.device_fields(args.device))
    config = SweepConfig(bers=args.bers, n_draws=args.draws, seed=args.seed,
                         layers=args.layers, n_images=args.n_images, code=args.code,
                         after=after)
    estimate = estimate_sweep(net, data.x_test, config, workers=args.workers)
    if estimate.seconds > LONG_RUN_SECONDS:
        print(f"warning: {estimate.message(config.code)}", file=sys.stderr)
    result = run_ber_sweep(net, data.x_test, data.y_test, config, out=args.out,
                           workers=args.workers, progress=bar("BER sweep", config.total_draws),
                           engine=args.engine, force=args.force)
    for point in result.points:
        s = point.summary(config.confidence)
        interval = ("(one draw: no interval)" if np.isnan(s.low)
                    else f"[{100 * s.low:.2f}, {100 * s.high:.2f}]")
        print(f"BER {point.ber:<8g} accuracy {100 * s.mean:.2f} % {interval}")
    print(f"-> {args.out} and {Path(args.out).with_suffix('.csv')}")


def cmd_wer(args: argparse.Namespace) -> None:
    from mrambnn.physics.energy import (
        WriteCircuit,
        check_drivable,
        current_limit,
        energy_optimal_pulse,
        pulse_at,
        pulse_energy,
    )
    from mrambnn.physics.switching import current_for_wer, write_error_rate

    device = resolve_device(args.device)
    mtj = device.mtj
    circuit = WriteCircuit(v_supply=args.vdd)
    if args.current_ua is not None and args.width_ns is not None:
        current, width = args.current_ua * 1e-6, args.width_ns * 1e-9
        check_drivable(mtj, circuit, current, args.direction)
        wer = float(write_error_rate(mtj, current=current, width=width, direction=args.direction))
        energy = pulse_energy(circuit, current=current, width=width)
        print(f"{device.name} {args.direction}: {current * 1e6:.1f} uA x {width * 1e9:.2f} ns "
              f"-> WER {wer:.3g}, energy {energy * 1e12:.3f} pJ per pulse")
        return
    rows = []
    for target in args.targets:
        if args.current_ua is not None:
            check_drivable(mtj, circuit, args.current_ua * 1e-6, args.direction)
            pulse = pulse_at(mtj, circuit, wer=target, current=args.current_ua * 1e-6,
                             direction=args.direction)
        elif args.width_ns is not None:
            current = current_for_wer(mtj, target, width=args.width_ns * 1e-9,
                                      direction=args.direction)
            check_drivable(mtj, circuit, current, args.direction)
            pulse = pulse_at(mtj, circuit, wer=target, current=current,
                             direction=args.direction)
        else:
            pulse = energy_optimal_pulse(mtj, circuit, wer=target, direction=args.direction)
        rows.append(pulse)
    print(f"{device.name} ({mtj.source or 'no source given'}), {args.direction}, Vdd {args.vdd} V")
    print(f"{'target WER':>10} {'current':>10} {'width':>9} {'energy':>10} "
          f"{'transistor':>11} {'cell area':>10}")
    top, reason = current_limit(mtj, circuit, args.direction)
    optimised = args.current_ua is None and args.width_ns is None
    bound = 0
    for p in rows:
        at_limit = optimised and p.current >= top * (1 - 1e-6)
        bound += at_limit
        print(f"{p.wer:>10.0e} {p.current * 1e6:>7.1f} uA {p.width * 1e9:>6.2f} ns "
              f"{p.energy * 1e12:>7.3f} pJ {p.transistor_width * 1e9:>8.0f} nm "
              f"{p.area_f2:>6.1f} F^2" + ("  (at the current limit)" if at_limit else ""))
    if optimised:
        print("Energy-optimal pulses: the current that minimises the pulse energy "
              f"between 1.02 x ic0 and the largest current, {top * 1e6:.0f} uA, set by "
              f"{reason}.")
    if bound:
        print(f"{bound} of {len(rows)} optima sit at that limit: the energy keeps falling "
              "as the current rises (the pulse shortens faster than the current grows), so "
              "the limit binds; a higher --vdd or a lower-resistance junction moves it, and "
              "the cell pays in transistor width (area). Give --width-ns or --current-ua to "
              "fix one and size the other.")


def cmd_budget(args: argparse.Namespace) -> None:
    from mrambnn.experiments.budget_study import BudgetConfig, run_budget
    from mrambnn.memory.cost import load_cost_config
    from mrambnn.report import budget_section

    device = resolve_device(args.device)
    mtj = device.mtj
    overrides = {} if args.reads_per_write is None else {"reads_per_write": args.reads_per_write}
    cost = load_cost_config(args.config, **overrides)
    net = load_model(args.model)
    name = Path(args.model).stem
    out = Path(args.out)
    check_writable(out)
    if args.sweep is not None:
        sweep = SweepResult.from_dict(read_json(args.sweep))
        measured = sweep.fingerprint.get("model_sha256")
        if measured != net.content_sha256():
            raise ValueError(f"{args.sweep} is a sweep of another model than {args.model} "
                             f"({sweep.model.get('architecture', 'unknown')} on "
                             f"{sweep.model.get('dataset', 'unknown data')})" if measured else
                             f"{args.sweep} does not say which model it measured; run the "
                             "sweep again")
        points = sweep.to_dict()["points"]
    else:
        data = load_test_set(dataset_of(net, args.dataset, where=args.model), args.data_dir)
        config = SweepConfig(n_draws=args.draws, n_images=args.n_images)
        points = run_ber_sweep(net, data.x_test, data.y_test, config,
                               out=out / f"sweep-{name}.json", workers=args.workers,
                               progress=bar("BER sweep", config.total_draws)
                               ).to_dict()["points"]
    budget = BudgetConfig(tolerance=args.tolerance / 100, target=args.target)
    result = run_budget(net, points, mtj=mtj, cost=cost, config=budget,
                        out=out / f"budget-{name}.json")
    where = (f"the BER sweep {args.sweep}" if args.sweep is not None
             else f"the BER sweep run for it, sweep-{name}.json")
    lines = budget_section(result, out, name, sweep_where=where, device=device.name)
    write_atomic(out / "budget.md", "\n".join(lines) + "\n")
    table = result.table
    print(f"tolerable BER without ECC: {result.tolerable_ber:.3g}")
    for label, row in table.rows.items():
        print(f"{label:26s} raw BER {row.pulse.raw_ber:.2e}  write "
              f"{row.pulse.energy_per_bit * 1e12:.3f} pJ/bit  cell {row.pulse.cell_area_f2:.1f}"
              f" F^2  total {row.cost.total_energy * 1e6:.3f} uJ  area "
              f"{row.cost.total_area * 1e6:.4f} mm^2")
    print(f"cheapest ECC: {table.best_ecc}; energy ratio {table.energy_ratio:.2f}x, "
          f"area ratio {table.area_ratio:.2f}x; optimum: {result.optimum.cost.code} "
          f"-> {out / 'budget.md'}")
    if args.assignment is not None:
        _assignment_budget(args.assignment, net, table, mtj=mtj, cost=cost)


def _assignment_budget(path: Path, net, table, *, mtj, cost) -> None:  # type: ignore[no-untyped-def]
    """Print the system cost of a per-layer assignment (`mrambnn protect`'s result) beside
    the budget's best ECC memory and its uniform BNN memory."""
    from mrambnn.experiments.protection import layer_costs, read_assignment
    from mrambnn.physics.energy import WriteCircuit

    options = read_assignment(read_json(path), len(net.layers))
    energy, area, writing = layer_costs(net, options, mtj=mtj, circuit=WriteCircuit(),
                                        config=cost)
    rows = np.arange(len(options))
    total, cells = float(energy[rows, rows].sum()), float(area[rows, rows].sum())
    print(f"per-layer assignment {path}: {' | '.join(o.label for o in options)}")
    print(f"  total {total * 1e6:.3f} uJ (writing {writing[rows, rows].sum() * 1e6:.4f} uJ), "
          f"area {cells * 1e6:.4f} mm^2 (per-layer decoders)")
    best = table.rows[table.best_ecc].cost
    bnn = table.rows["none (weak, BNN)"].cost
    print(f"  best ECC / assignment: energy {best.total_energy / total:.3f}x, area "
          f"{best.total_area / cells:.3f}x; uniform BNN / assignment: energy "
          f"{bnn.total_energy / total:.3f}x, area {bnn.total_area / cells:.3f}x")


def cmd_reproduce(args: argparse.Namespace) -> None:
    from mrambnn.experiments.main_job import ImageNetStudyConfig, config_for_models
    from mrambnn.report import reproduce

    config = config_for_models(args.models, workers=args.workers, device=args.device,
                               sweep=SweepConfig(bers=args.bers, n_draws=args.draws,
                                                 seed=args.seed),
                               imagenet=None if args.no_tiny_imagenet else ImageNetStudyConfig())
    check_writable(args.out)
    began = time.perf_counter()
    report = reproduce(args.out, config, data_dir=args.data_dir, progress=bar)
    print(f"report: {report} ({time.perf_counter() - began:.0f} s)")


def cmd_device(args: argparse.Namespace) -> None:
    from mrambnn.physics.device_file import device_toml

    device = resolve_device(args.device)
    text = device_toml(device.mtj, device.name)
    if args.out is None:
        print(text, end="")
        return
    check_writable(args.out.parent)
    write_atomic(args.out, text)
    mtj = device.mtj
    print(f"{device.name}: delta {mtj.delta:.4g}, ic0 P->AP {mtj.ic0_p2ap * 1e6:.1f} uA, "
          f"AP->P {mtj.ic0_ap2p * 1e6:.1f} uA, tau_d {mtj.tau_d * 1e9:.3g} ns, R_P "
          f"{mtj.r_p / 1e3:.3g} kohm, R_AP {mtj.r_ap / 1e3:.3g} kohm -> {args.out}")


def cmd_campaign(args: argparse.Namespace) -> None:
    from mrambnn.experiments.campaign import (
        DaskBackend,
        LocalBackend,
        campaign_status,
        load_campaign,
        run_campaign,
    )

    campaign = load_campaign(args.file)
    out = args.out or Path(args.file).parent / campaign.name
    if args.action == "status":
        rows = campaign_status(campaign, out)
        for row in rows:
            print(f"{row.model:>20} {row.fault:>28} {row.done:>6} / {row.total} tasks")
        done, total = sum(r.done for r in rows), sum(r.total for r in rows)
        print(f"{done} of {total} tasks finished in {out}")
        return
    scheduler = args.scheduler or campaign.scheduler
    backend = DaskBackend(scheduler) if scheduler else LocalBackend(args.workers)
    print(f"campaign {campaign.name}: running on {backend.description}", file=sys.stderr)

    def bar(total: int, done: int) -> Callable[[int], None]:
        return tqdm(total=total, initial=done, desc=campaign.name, unit="task",
                    file=sys.stderr).update

    try:
        paths = run_campaign(campaign, out, backend, progress=bar)
    finally:
        if isinstance(backend, DaskBackend):
            backend.close()
    for path in paths:
        print(f"-> {path}")
