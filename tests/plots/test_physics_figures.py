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


def test_energy_per_direction_and_area_for_the_larger_current(drawn, tmp_path) -> None:
    from mrambnn.physics.energy import current_limit, pulse_at
    from mrambnn.physics.switching import current_for_wer

    circuit = WriteCircuit()
    path = figures.plot_energy_vs_target_wer(MTJ, circuit, tmp_path / "e.png",
                                             device="pmtj-40nm")
    assert _is_png(path)
    figure = drawn[0]
    energy_axes, area_axes = figure.axes
    assert "pmtj-40nm" in figure.get_suptitle() and "10 ns" in figure.get_suptitle()
    assert not energy_axes.xaxis_inverted() and not area_axes.xaxis_inverted()
    lines = energy_axes.get_lines()  # per direction: within the limit, then beyond (dotted)
    labels = [t.get_text() for t in energy_axes.get_legend().get_texts()]
    assert len(labels) == 2 and "p2ap" in labels[0] and "ap2p" in labels[1]
    targets = lines[0].get_xdata()
    assert np.all(np.diff(targets) > 0)
    pulses = {}
    for (solid, dotted), direction in zip((lines[0:2], lines[2:4]), ("p2ap", "ap2p"),
                                          strict=True):
        pulses[direction] = [pulse_at(MTJ, circuit, wer=w, direction=direction,
                                      current=current_for_wer(MTJ, w, width=10e-9,
                                                              direction=direction))
                             for w in targets]
        energy = np.array([p.energy for p in pulses[direction]]) * 1e12
        beyond = np.array([p.current > current_limit(MTJ, circuit, direction)[0]
                           for p in pulses[direction]])
        assert np.array_equal(np.isnan(solid.get_ydata()), beyond)
        np.testing.assert_allclose(solid.get_ydata()[~beyond], energy[~beyond], rtol=1e-12)
        np.testing.assert_allclose(dotted.get_ydata()[beyond], energy[beyond], rtol=1e-12)
        assert dotted.get_linestyle() == ":" and np.all(np.diff(energy) < 0)
    # the two directions differ (ic0 60 and 40 uA): two curves, not one drawn twice
    assert np.all(pulses["p2ap"][0].energy > pulses["ap2p"][0].energy)
    (area,) = area_axes.get_lines()
    expected = [max(a.area_f2, b.area_f2) for a, b in zip(pulses["p2ap"], pulses["ap2p"],
                                                          strict=True)]
    np.testing.assert_allclose(area.get_ydata(), expected, rtol=1e-12)
    assert np.all(np.diff(area.get_ydata()) <= 0)


def test_every_figure_names_its_device_and_model(drawn, tmp_path) -> None:
    figures.plot_wer_vs_width(MTJ, tmp_path / "w.png", device="lab-mtj")
    assert "lab-mtj" in drawn[-1].axes[0].get_title()
    figures.plot_calibration(get_preset("rehm2023-smtj"), PULSE_CURVE, AMPLITUDE_CURVE,
                             tmp_path / "c.png", device="rehm2023-smtj")
    assert "rehm2023-smtj" in drawn[-1].get_suptitle()


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
