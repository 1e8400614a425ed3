"""Accuracy vs time since writing for deltas 30-60 on the MNIST MLP and the CIFAR-10 VGG,
with and without device-to-device spread: the refresh interval at a 0.5-point drop and
its energy per hour. Run: .venv/bin/python scripts/study_lifetime.py (about 15 min on
2 cores)."""
import time

import numpy as np

from mrambnn.datasets import load_dataset
from mrambnn.experiments.lifetime import YEAR, LifetimeConfig, refresh_energy_per_hour, run_lifetime
from mrambnn.memory.mram import MRAM, WritePulseCondition
from mrambnn.models import load_model
from mrambnn.physics.presets import get_preset
from mrambnn.physics.switching import current_for_wer

mtj = get_preset("pmtj-40nm")
mram = MRAM(mtj=mtj)
width = 10e-9
strong = WritePulseCondition(current=current_for_wer(mtj, 1e-9, width=width), width=width)
energy_per_bit = mram.energy_per_bit(strong)
print(f"strong pulse {1e6 * strong.current:.1f} uA x 10 ns: {1e15 * energy_per_bit:.1f} fJ/bit")
times = tuple(float(t) for t in np.geomspace(1.0, 10 * YEAR, 17))
for name, n_images, draws in (("mnist-mlp", None, 5), ("cifar-vgg", 1000, 3)):
    net = load_model(name)
    data = load_dataset(net.metadata["dataset"])
    for spread in ("none", "pmtj-array"):
        began = time.perf_counter()
        config = LifetimeConfig(deltas=(30.0, 35.0, 40.0, 45.0, 50.0, 60.0), times=times,
                                n_draws=draws, spread=spread, n_images=n_images)
        curves = run_lifetime(net, data.x_test, data.y_test, mtj, config, workers=2)
        print(f"{name} ({n_images or 10000} images, {draws} draws), spread {spread} "
              f"[{time.perf_counter() - began:.0f} s]; clean {100 * curves[0].clean:.2f} %")
        for curve in curves:
            interval = curve.refresh_interval()
            means = " ".join(f"{100 * curve.summary(i).mean:.1f}" for i in range(0, 17, 4))
            if interval is None:
                text = "fails before 1 s"
            else:
                power = refresh_energy_per_hour(interval, net.n_weights, energy_per_bit)
                bound = " (>= the grid's end)" if interval == times[-1] else ""
                text = (f"refresh every {interval:.3g} s{bound} = {interval / 3600:.3g} h: "
                        f"{1e9 * power:.3g} nJ per hour")
            print(f"  delta {curve.delta:g}: {text}; acc at 1 s, 1e2, 1e4, 1e6, 1e8 s: {means}")
