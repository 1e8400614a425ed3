"""The report of the main job: markdown and figures rendered from a `MainJobResult`
(`mrambnn.experiments.main_job`); nothing here computes a result."""

import time
from pathlib import Path

from mrambnn.experiments.main_job import MainJobConfig, Progress, run_main_job
from mrambnn.report.budget_section import budget_section
from mrambnn.report.main_report import render_report

__all__ = ["budget_section", "render_report", "reproduce"]


def reproduce(out_dir: Path, config: MainJobConfig | None = None, *,
              data_dir: Path | None = None, progress: Progress | None = None) -> Path:
    """Run the main job into ``out_dir`` and render its report; returns ``report.md``'s
    path (see `mrambnn.experiments.main_job.run_main_job` for the arguments; None: the
    default `MainJobConfig`)."""
    began = time.perf_counter()
    result = run_main_job(out_dir, config or MainJobConfig(), data_dir=data_dir,
                          progress=progress)
    return render_report(result, out_dir, wall_seconds=time.perf_counter() - began)
