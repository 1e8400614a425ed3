"""``mrambnn energy``: accuracy against write energy per bit, pulse by pulse, on one chip
(optionally with device-to-device variability), with the energy at a tolerated drop."""

import argparse

from mrambnn.cli.arguments import bar
from mrambnn.datasets import load_test_set
from mrambnn.engine import accuracy
from mrambnn.experiments.energy_sweep import (
    EnergySweepConfig,
    energy_at_accuracy_drop,
    run_energy_sweep,
)
from mrambnn.experiments.outputs import check_writable
from mrambnn.memory.mram import MRAM
from mrambnn.models import dataset_of, load_model
from mrambnn.physics.device_file import resolve_device

__all__ = ["cmd_energy"]


def cmd_energy(args: argparse.Namespace) -> None:
    net = load_model(args.model)
    data = load_test_set(dataset_of(net, args.dataset, where=args.model), args.data_dir)
    config = EnergySweepConfig(width=args.width_ns * 1e-9,
                               currents=tuple(c * 1e-6 for c in args.currents_ua),
                               n_draws=args.draws, seed=args.seed, n_images=args.n_images,
                               spread=args.spread, chip_seed=args.chip_seed)
    check_writable(args.out.parent)
    device = resolve_device(args.device)
    mram = MRAM(mtj=device.mtj)
    images, labels = data.x_test[:args.n_images], data.y_test[:args.n_images]
    clean = accuracy(net, images, labels)
    result = run_energy_sweep(net, images, labels, mram, config, out=args.out,
                              workers=args.workers, clean_accuracy=clean,
                              progress=bar("energy sweep", len(config.currents) * args.draws))
    for point in result.points:
        s = point.summary
        print(f"{1e6 * point.current:7.1f} uA  {1e15 * point.energy_per_bit:8.1f} fJ/bit  "
              f"WER p2ap {point.wer_p2ap:.2e} ap2p {point.wer_ap2p:.2e}  "
              f"accuracy {100 * s.mean:.2f} %")
    marked = energy_at_accuracy_drop(result, clean, drop=args.tolerance / 100)
    print(f"clean accuracy {100 * clean:.2f} %; {args.tolerance:g}-point drop at "
          + ("no current of the grid" if marked is None else f"{1e15 * marked:.1f} fJ/bit"))
    figure = args.out.with_suffix(".png")
    try:
        from mrambnn.plots import plot_accuracy_vs_energy
    except ImportError:  # matplotlib is optional: the JSON holds every number
        print(f"-> {args.out}")
        return
    label = f"{args.model}, {device.name}, spread {args.spread}"
    plot_accuracy_vs_energy(result, clean, figure, marked_energy=marked, label=label)
    print(f"-> {args.out} and {figure}")
