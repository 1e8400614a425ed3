"""Write error rate: Fokker-Planck solver vs sLLGS Monte Carlo vs closed forms."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mrambnn.physics import (
    MTJ,
    FokkerPlanckGrid,
    current_for_wer,
    fpe_wer,
    kramers_tau,
    pulse_width_for_wer,
    reduced_ln_wer,
    reduced_wer,
    switching_table,
    wer_sun,
    write_error_rate,
)
from mrambnn.physics.fokker_planck import _generator, initial_density
from mrambnn.physics.sllgs import sllgs_wer

PRESET = MTJ(delta=60.0, ic0_p2ap=60e-6, ic0_ap2p=40e-6, tau_d=2e-9)


def test_published_reference_point() -> None:
    # docs/physics.md section 2 (derived): delta = 60, i = 2, t = 5 tau_d -> WER about 2.0e-3.
    assert fpe_wer(60.0, 2.0, np.array([5.0]))[0] == pytest.approx(2.0e-3, rel=0.05)


def test_grid_convergence() -> None:
    coarse = fpe_wer(60.0, 2.0, np.array([5.0, 12.0]), grid=FokkerPlanckGrid(n_cells=1000))
    fine = fpe_wer(60.0, 2.0, np.array([5.0, 12.0]), grid=FokkerPlanckGrid(n_cells=4000))
    np.testing.assert_allclose(coarse, fine, rtol=1e-3)


def test_stationary_solution_at_zero_current_is_boltzmann() -> None:
    grid = FokkerPlanckGrid(n_cells=400)
    delta = 8.0
    faces = grid.faces
    # Cell masses of exp(delta z^2) over the whole sphere: the discrete null vector.
    boltzmann = initial_density(grid, delta) + initial_density(grid, delta)[::-1]
    matrix = _generator(grid, delta, 0.0, 0.0)
    residual = matrix @ boltzmann
    assert np.abs(residual).max() < 1e-3 * np.abs(matrix).max() * boltzmann.max()
    assert faces[0] == -1 and faces[-1] == 1


@pytest.mark.parametrize("current", [2.0, 3.0, 5.0])
def test_tail_slope_is_two_i_minus_one(current: float) -> None:
    # 2(i - 1) is the large-delta limit; the exact slope exceeds it by about
    # 1/(delta (i - 1)) (1.063 instead of 1.0 at delta = 40, i = 1.5).
    s = np.array([14.0, 15.0]) / (current - 1)  # deep in the tail
    wer = fpe_wer(60.0, current, s)
    slope = -np.log(wer[1] / wer[0]) / (s[1] - s[0])
    assert slope == pytest.approx(2 * (current - 1), rel=0.02)


@pytest.mark.parametrize("current", [1.5, 2.0, 3.0])
def test_fpe_below_sun_for_moderate_currents(current: float) -> None:
    s = np.linspace(2, 8, 4) * 2 / current
    assert np.all(fpe_wer(60.0, current, s) <= wer_sun(60.0, current, s))


@pytest.mark.parametrize("current", [3.0, 5.0, 8.0])
def test_sun_pulse_width_within_ten_percent_in_precessional_regime(current: float) -> None:
    for target in (1e-3, 1e-6, 1e-9):
        # Sun's width, inverted exactly.
        sun_s = np.log(np.pi**2 * 60 / 4 / -np.log1p(-target)) / (2 * (current - 1))
        width = pulse_width_for_wer(PRESET, target, current=current * PRESET.ic0_p2ap)
        assert width / PRESET.tau_d == pytest.approx(sun_s, rel=0.10)


@pytest.mark.parametrize(("delta", "current"), [(60.0, 0.5), (60.0, 0.55), (80.0, 0.6)])
def test_neel_brown_pulse_width_within_ten_percent_in_thermal_regime(delta, current) -> None:
    # Barriers delta (1 - i)^2 of 12-15: the Kramers asymptote is good to about 1/barrier.
    tau = float(kramers_tau(delta, current))
    s = np.array([0.5, 1.0, 2.0]) * tau
    wer = fpe_wer(delta, current, s)
    implied = -s / np.log(wer)  # effective escape time at each width
    np.testing.assert_allclose(implied[1:], tau, rtol=0.10)


@pytest.mark.parametrize(("delta", "current", "widths"), [
    (10.0, 0.5, (5.0, 15.0, 30.0)),  # thermally activated
    (20.0, 1.3, (2.0, 4.0, 6.0)),  # intermediate
    (20.0, 3.0, (0.5, 1.0, 1.5)),  # precessional
])
def test_solver_agrees_with_sllgs_monte_carlo(delta, current, widths) -> None:
    widths = np.array(widths)
    mc, stderr = sllgs_wer(delta, current, widths, n_samples=4000, rng=np.random.default_rng(1))
    solver = fpe_wer(delta, current, widths)
    # 4 standard errors plus 1 % for the sLLGS time step.
    assert np.all(np.abs(mc - solver) <= 4 * stderr + 0.01), (mc, solver, stderr)


@settings(max_examples=60, deadline=None)
@given(st.floats(0.0, 9.9), st.floats(0.0, 9.9), st.floats(-2.0, 6.5), st.floats(-2.0, 6.5))
def test_joined_model_is_monotone(i1, i2, log_s1, log_s2) -> None:
    table = switching_table(60.0)
    (ia, ib), (sa, sb) = sorted((i1, i2)), sorted((10**log_s1, 10**log_s2))
    assert reduced_wer(table, ib, sa) <= reduced_wer(table, ia, sa) * (1 + 1e-12)
    assert reduced_wer(table, ia, sb) <= reduced_wer(table, ia, sa) * (1 + 1e-12)


def test_joined_model_is_continuous() -> None:
    table = switching_table(60.0)
    i = np.linspace(0.0, 10.0, 20001)
    for s in (0.3, 3.0, 30.0, 3e3, 3e5):
        ln = reduced_ln_wer(table, i, s)
        assert np.all(np.isfinite(ln))
        assert np.abs(np.diff(ln)).max() < 0.05 * max(1.0, np.abs(ln).max() / 100)
    s = np.logspace(-1, 7, 20001)
    for current in (0.5, 0.9, 1.0, 1.5, 2.0, 4.0):
        ln = reduced_ln_wer(table, current, s)
        assert np.all(np.isfinite(ln))
        assert np.abs(np.diff(ln)).max() < 0.05 * max(1.0, np.abs(ln).max() / 50)


@pytest.mark.parametrize(("current", "width"), [
    (1.55, 5.0), (1.55, 30.0), (2.375, 5.0), (3.125, 0.82), (4.125, 0.82), (4.125, 5.0),
    (4.5, 5.0), (5.25, 0.82), (8.5, 0.82)])
def test_between_grid_points_the_table_follows_the_exact_solution(current, width) -> None:
    """Off every tabulated current and width, the interpolated log(WER) is within 0.01 of
    the Fokker-Planck solution at that pulse (no kinks of the size a figure would show)."""
    exact = float(np.log(fpe_wer(60.0, current, np.array([width]))[0]))
    assert -np.log(1e14) < exact < -1e-4
    assert abs(float(reduced_ln_wer(switching_table(60.0), current, width)) - exact) < 0.01


def test_inverses_round_trip() -> None:
    width = pulse_width_for_wer(PRESET, 1e-6, current=120e-6)
    assert write_error_rate(PRESET, current=120e-6, width=width) == pytest.approx(1e-6, rel=1e-3)
    current = current_for_wer(PRESET, 1e-6, width=10e-9)
    assert write_error_rate(PRESET, current=current, width=10e-9) == pytest.approx(1e-6, rel=1e-3)
    assert current_for_wer(PRESET, 1e-3, width=10e-9) < current


@pytest.mark.parametrize("kwargs", [{"current": -1e-6, "width": 1e-9},
                                    {"current": 1e-4, "width": -1e-9},
                                    {"current": 0.0, "width": 1e-9},
                                    {"current": 1e-4, "width": float("nan")}])
def test_bad_pulses_are_rejected(kwargs) -> None:
    with pytest.raises(ValueError, match="must be > 0"):
        write_error_rate(PRESET, **kwargs)


@pytest.mark.parametrize("field", ["delta", "ic0_p2ap", "tau_d", "diameter"])
@pytest.mark.parametrize("value", [0.0, -1.0, float("inf")])
def test_bad_mtj_parameters_are_rejected(field, value) -> None:
    from dataclasses import replace
    with pytest.raises(ValueError, match=field):
        replace(PRESET, **{field: value})


def test_unknown_direction_names_choices() -> None:
    with pytest.raises(ValueError, match="ap2p, p2ap"):
        write_error_rate(PRESET, current=1e-4, width=1e-8, direction="up")
