"""Rebuild the shipped switching tables (src/mrambnn/physics/tables/fpe-delta*.npz): the
Fokker-Planck WER at every tabulated current and width, for each shipped delta, one
process per core. About 1.5 s per current and delta.

    .venv/bin/python scripts/build_switching_tables.py
"""

import os
import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from mrambnn.physics.switching import build_switching_table

TABLES = Path(__file__).resolve().parents[1] / "src" / "mrambnn" / "physics" / "tables"
DELTAS = (20.0, 30.0, 40.0, 50.0, 60.0, 70.0, 80.0, 90.0, 100.0)


def build(delta: float) -> str:
    table = build_switching_table(delta)
    target = TABLES / f"fpe-delta{delta:.6g}.npz"
    temporary = target.with_name(target.name + ".tmp.npz")
    np.savez(temporary, currents=table.currents, log_times=table.log_times,
             ln_wer=table.ln_wer)
    os.replace(temporary, target)
    return str(target)


if __name__ == "__main__":
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else os.cpu_count() or 1
    with ProcessPoolExecutor(workers) as pool:
        for path in pool.map(build, DELTAS):
            print(path)
