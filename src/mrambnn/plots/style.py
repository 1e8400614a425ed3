"""The one figure style of mrambnn, and figures made without pyplot's global state.

Figures are `matplotlib.figure.Figure` objects drawn with the object API and saved by
their own canvas: no pyplot, no backend chosen at import, nothing left open.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib
from matplotlib.figure import Figure

__all__ = ["STYLE", "new_figure", "save"]

STYLE = {"figure.dpi": 150, "font.size": 8, "axes.grid": True, "grid.alpha": 0.3,
         "legend.fontsize": 6}


@contextmanager
def new_figure(width: float, height: float, **subplots: Any) -> Iterator[tuple[Figure, Any]]:
    """A figure of ``width`` x ``height`` inches in the house style and its axes
    (``Figure.subplots(**subplots)``); the style holds while the ``with`` block draws."""
    with matplotlib.rc_context(STYLE):
        figure = Figure(figsize=(width, height))
        yield figure, figure.subplots(**subplots)


def save(figure: Figure, path: Path) -> Path:
    """Lay out ``figure`` and write it to ``path`` (PNG or PDF by suffix); returns it."""
    figure.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path)
    return Path(path)
