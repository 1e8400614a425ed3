"""The physics figures draw what the physics says: each curve is checked against the
model it shows, and every figure is written as a real PNG."""

from pathlib import Path

import numpy as np
import pytest

import mrambnn.plots.physics as figures
from mrambnn.physics.calibration import AMPLITUDE_CURVE, PULSE_CURVE, switching_probability
from mrambnn.physics.energy import WriteCircuit
from mrambnn.physics.presets import get_preset
from mrambnn.physics.switching import write_error_rate

MTJ = get_preset("pmtj-40nm")


@pytest.fixture()
def drawn(monkeypatch):  # type: ignore[no-untyped-def]
    """The figures the plot functions save, in order (the files are written too)."""
    saved = []
    real_save = figures.save

    def keep(figure, path):  # type: ignore[no-untyped-def]
        saved.append(figure)
        return real_save(figure, path)

    monkeypatch.setattr(figures, "save", keep)
    return saved


def _is_png(path: Path) -> bool:
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_wer_curves_are_the_model_at_each_current(drawn, tmp_path) -> None:
    path = figures.plot_wer_vs_width(MTJ, tmp_path / "wer.png", reduced_currents=(1.5, 3.0))
    assert _is_png(path)
    lines = drawn[0].axes[0].get_lines()
    assert len(lines) == 2
    for line, reduced in zip(lines, (1.5, 3.0), strict=True):
        width = line.get_xdata() * 1e-9
        expected = write_error_rate(MTJ, current=reduced * MTJ.ic0("p2ap"), width=width,
                                    direction="p2ap")
        np.testing.assert_allclose(line.get_ydata(), np.clip(expected, 1e-16, 1), rtol=1e-12)
        assert f"{reduced:g} ic0" in line.get_label()
    # a larger current switches sooner: lower WER at every width where both are resolved
    low, high = (line.get_ydata() for line in lines)
    resolved = (low > 1e-12) & (low < 0.5)
    assert np.all(high[resolved] < low[resolved])


def test_stronger_targets_cost_more_energy_and_area(drawn, tmp_path) -> None:
    assert _is_png(figures.plot_energy_vs_target_wer(MTJ, WriteCircuit(), tmp_path / "e.png"))
    energy_axes, area_axes = drawn[0].axes
    (energy,), (area,) = energy_axes.get_lines(), area_axes.get_lines()
    targets = energy.get_xdata()
    assert np.all(np.diff(targets) > 0)
    # from 1e-12 to 1e-2 the pulse gets cheaper and the cell smaller
    assert np.all(np.diff(energy.get_ydata()) < 0)
    assert np.all(np.diff(area.get_ydata()) <= 0)
    assert energy_axes.xaxis_inverted()


def test_calibration_shows_measured_points_and_the_calibrated_model(drawn, tmp_path) -> None:
    mtj = get_preset("rehm2023-smtj")
    assert _is_png(figures.plot_calibration(mtj, PULSE_CURVE, AMPLITUDE_CURVE,
                                            tmp_path / "c.png"))
    for axes, curve in zip(drawn[0].axes, (PULSE_CURVE, AMPLITUDE_CURVE), strict=True):
        measured, model = axes.get_lines()
        np.testing.assert_array_equal(measured.get_ydata(), curve.probability)
        assert measured.get_label() == "measured"
        # the model line agrees with the model at the measured pulses' positions
        at_points = np.interp(measured.get_xdata(), model.get_xdata(), model.get_ydata())
        exact = switching_probability(mtj, curve)
        assert np.max(np.abs(at_points - exact)) < 0.02
