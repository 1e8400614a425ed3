"""``mrambnn lifetime``: accuracy against time since writing for several deltas (retention
and read disturb, per cell), the refresh interval at a tolerated drop and its energy."""

import argparse
import json
from dataclasses import asdict, replace

import numpy as np

from mrambnn.cli.arguments import bar
from mrambnn.datasets import load_test_set
from mrambnn.experiments import write_atomic
from mrambnn.experiments.lifetime import YEAR, LifetimeConfig, refresh_energy_per_hour, run_lifetime
from mrambnn.experiments.outputs import check_writable
from mrambnn.experiments.stats import json_number
from mrambnn.memory.mram import MRAM, WritePulseCondition
from mrambnn.models import dataset_of, load_model
from mrambnn.physics.device_file import resolve_device
from mrambnn.physics.switching import current_for_wer

__all__ = ["cmd_lifetime"]


def cmd_lifetime(args: argparse.Namespace) -> None:
    net = load_model(args.model)
    data = load_test_set(dataset_of(net, args.dataset, where=args.model), args.data_dir)
    device = resolve_device(args.device)
    mtj = device.mtj
    times = tuple(float(t) for t in np.geomspace(args.first, args.last * YEAR, args.points))
    config = LifetimeConfig(deltas=args.deltas, times=times, n_draws=args.draws,
                            seed=args.seed, spread=args.spread, n_images=args.n_images,
                            reads_per_second=args.reads_per_second,
                            read_current=args.read_current_ua * 1e-6)
    check_writable(args.out.parent)
    # refreshes rewrite every weight with the pulse whose WER is the target
    pulse = WritePulseCondition(current=current_for_wer(mtj, args.refresh_wer, width=10e-9),
                                width=10e-9)
    energy_per_bit = MRAM(mtj=mtj).energy_per_bit(pulse)
    curves = run_lifetime(net, data.x_test, data.y_test, mtj, config, workers=args.workers,
                          progress=bar("lifetime", len(args.deltas) * len(times) * args.draws))
    rows = []
    for curve in curves:
        interval = curve.refresh_interval(args.tolerance / 100)
        power = (None if interval is None
                 else refresh_energy_per_hour(interval, net.n_weights, energy_per_bit))
        bound = interval is not None and interval == times[-1]
        text = ("fails within the first time" if interval is None else
                f"refresh every {interval:.3g} s{' or longer' if bound else ''}: "
                f"{1e9 * power:.3g} nJ per hour" if power is not None else "")
        print(f"delta {curve.delta:g}: {text}")
        rows.append({"delta": curve.delta, "refresh_interval": interval,
                     "interval_is_lower_bound": bool(bound),
                     "refresh_energy_per_hour": power,
                     "points": [{"time": t, "mean": curve.summary(i).mean,
                                 "ci_low": json_number(curve.summary(i).low),
                                 "ci_high": json_number(curve.summary(i).high),
                                 "accuracies": list(curve.accuracies[i])}
                                for i, t in enumerate(curve.times)]})
    result = {"kind": "lifetime", "config": asdict(replace(config)), "mtj": asdict(mtj),
              "model": net.metadata, "clean": curves[0].clean,
              "refresh_pulse": {"current": pulse.current, "width": pulse.width,
                                "energy_per_bit": energy_per_bit,
                                "wer": args.refresh_wer},
              "tolerance_points": args.tolerance, "curves": rows}
    write_atomic(args.out, json.dumps(result, indent=1))
    figure = args.out.with_suffix(".png")
    try:
        from mrambnn.plots import plot_lifetime
    except ImportError:  # matplotlib is optional: the JSON holds every number
        figure = None
    else:
        plot_lifetime(curves, figure, model=str(args.model), device=device.name,
                      spread=args.spread, drop=args.tolerance / 100)
    print(f"-> {args.out}" + (f" and {figure}" if figure else ""))
