"""Tidy tables of results: one row per model x fault setting x grid point x draw, every
setting a column, for pandas, R or a spreadsheet (`pandas.read_csv(path)` reads it back).

Columns (`COLUMNS`; empty where a column does not apply to a row's kind):
kind ('ber_sweep' or 'energy_sweep'), model (architecture or source), model_sha256,
dataset, n_images (empty: the whole test set), seed, layers (exposed layers, '+'-joined;
empty: all), code (memory code), ber (raw BER), after_s (seconds after writing), delta
(the cells' thermal stability), spread (device-to-device spread), chip_seed, reads (reads
after writing), current_a (write current, A), width_s (pulse width, s), energy_j (write
energy per bit, J), wer_ap2p, wer_p2ap, draw (index), accuracy (fraction).
"""

import csv
import io
from pathlib import Path
from typing import Any

from mrambnn.experiments.ber_sweep import SweepResult
from mrambnn.experiments.energy_sweep import EnergySweepResult
from mrambnn.experiments.results import write_atomic

__all__ = ["COLUMNS", "tidy_rows", "write_tidy"]

COLUMNS = ("kind", "model", "model_sha256", "dataset", "n_images", "seed", "layers", "code",
           "ber", "after_s", "delta", "spread", "chip_seed", "reads", "current_a", "width_s",
           "energy_j", "wer_ap2p", "wer_p2ap", "draw", "accuracy")


def _model(result: SweepResult | EnergySweepResult) -> dict[str, Any]:
    model = result.model
    return {"model": model.get("architecture") or model.get("source") or "",
            "dataset": model.get("dataset", ""),
            "n_images": result.config.n_images or "", "seed": result.config.seed}


def tidy_rows(result: SweepResult | EnergySweepResult) -> list[dict[str, Any]]:
    """One dict per draw of ``result`` with the `COLUMNS` that apply."""
    rows = []
    common = _model(result)
    if isinstance(result, SweepResult):
        config, after = result.config, result.config.after
        common.update(
            kind="ber_sweep", model_sha256=result.fingerprint.get("model_sha256", ""),
            layers="" if config.layers is None else "+".join(map(str, config.layers)),
            code=config.code)
        if after is not None:
            common.update(after_s=after.time, delta=after.delta if after.delta is not None
                          else "", spread=after.spread, chip_seed=after.chip_seed,
                          reads=after.reads)
        for point in result.points:
            for draw, value in enumerate(point.accuracies):
                rows.append({**common, "ber": point.ber, "draw": draw, "accuracy": value})
        return rows
    config = result.config
    common.update(kind="energy_sweep", delta=result.mtj.delta, spread=config.spread,
                  chip_seed=config.chip_seed, code="none")
    for point in result.points:
        for draw, value in enumerate(point.accuracies):
            rows.append({**common, "current_a": point.current, "width_s": point.width,
                         "energy_j": point.energy_per_bit, "wer_ap2p": point.wer_ap2p,
                         "wer_p2ap": point.wer_p2ap, "draw": draw, "accuracy": value})
    return rows


def write_tidy(results: list[SweepResult | EnergySweepResult], path: Path) -> int:
    """Write the tidy rows of ``results`` to ``path``: CSV, or Parquet for a .parquet path
    (needs pyarrow); returns the number of rows."""
    rows = [row for result in results for row in tidy_rows(result)]
    path = Path(path)
    if path.suffix == ".parquet":
        try:
            import pyarrow as pa  # type: ignore[import-not-found]
            import pyarrow.parquet as pq  # type: ignore[import-not-found]
        except ImportError as error:
            raise ValueError("a .parquet table needs pyarrow (pip install pyarrow); write "
                             ".csv instead") from error
        columns = {c: [row.get(c) if row.get(c) != "" else None for row in rows]
                   for c in COLUMNS}
        pq.write_table(pa.table(columns), path)
        return len(rows)
    if path.suffix != ".csv":
        raise ValueError(f"write the table as .csv or .parquet, not {path.suffix or path.name}")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    write_atomic(path, out.getvalue())
    return len(rows)
