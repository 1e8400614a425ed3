"""Write energy per bit at a 0.5-point accuracy drop, with and without device-to-device
spread, on the MNIST MLP and the CIFAR-10 VGG. Run: .venv/bin/python
scripts/study_variability_energy.py (about 5 min on 2 cores)."""
import time

from mrambnn.datasets import load_dataset
from mrambnn.engine import accuracy
from mrambnn.experiments.energy_sweep import (
    EnergySweepConfig,
    energy_at_accuracy_drop,
    run_energy_sweep,
)
from mrambnn.experiments.main_job import MainJobConfig
from mrambnn.memory.mram import MRAM
from mrambnn.models import load_model
from mrambnn.physics.presets import get_preset

currents = MainJobConfig().energy_sweep.currents
mram = MRAM(mtj=get_preset("pmtj-40nm"))
for name, n_images, draws in (("mnist-mlp", None, 10), ("cifar-vgg", 2000, 5)):
    net = load_model(name)
    data = load_dataset(net.metadata["dataset"])
    x, y = data.x_test[:n_images], data.y_test[:n_images]
    clean = accuracy(net, x, y)
    for spread in ("none", "pmtj-array-low", "pmtj-array"):
        began = time.perf_counter()
        config = EnergySweepConfig(width=10e-9, currents=currents, n_draws=draws,
                                   spread=spread, chip_seed=1)
        result = run_energy_sweep(net, x, y, mram, config, workers=2)
        energy = energy_at_accuracy_drop(result, clean, drop=0.005)
        rows = " ".join(f"{1e6 * p.current:.0f}uA:{100 * p.summary.mean:.2f}"
                        for p in result.points)
        print(f"{name} ({n_images or 10000} images, {draws} draws) spread={spread}: "
              f"E(0.5 pt) = {None if energy is None else f'{1e15 * energy:.1f} fJ'}"
              f" [{time.perf_counter() - began:.0f} s]\n   {rows}", flush=True)
