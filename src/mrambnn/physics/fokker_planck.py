"""Exact macrospin write error rate from the 1-D Fokker-Planck equation.

For a perpendicular macrospin with uniaxial anisotropy, collinear spin torque and an
axial field, the density rho(z, s) of z = cos(theta) obeys (Brown 1963; Butler et al.,
IEEE Trans. Magn. 48, 4684 (2012)), with s = t / tau_d, i = I / ic0 and h = H / Hk:

    d rho/ds = -d/dz[(1 - z^2)(z + h - i) rho] + (1 / (2 delta)) d/dz[(1 - z^2) d rho/dz]

The cell starts in thermal equilibrium in the upper well, rho ~ exp(delta z^2) on z > 0,
and the current drives it towards z = -1. WER(s) = P(z > 0) at the end of the pulse.

Discretisation: finite volumes on a grid uniform in theta (fine at both poles, where the
density concentrates), Scharfetter-Gummel fluxes (exact for the exponential profile of
each cell face, so the discrete equilibrium at i = h = 0 is exp(delta z^2) up to the
quadrature of the cells), and the linear system is integrated with SciPy's BDF method
and its sparse Jacobian. Validity: macrospin only (no incoherent reversal, no
back-hopping), axially symmetric, T constant during the pulse.
"""

from dataclasses import dataclass

import numpy as np
from scipy import sparse
from scipy.integrate import solve_ivp

__all__ = ["FokkerPlanckGrid", "fpe_wer", "initial_density"]


def _bernoulli(x: np.ndarray) -> np.ndarray:
    """B(x) = x / (e^x - 1), with B(0) = 1, stable for all x."""
    x = np.asarray(x, dtype=np.float64)
    small = np.abs(x) < 1e-8
    safe = np.where(small, 1.0, x)
    return np.where(small, 1.0 - x / 2, safe / np.expm1(safe))


@dataclass(frozen=True, kw_only=True)
class FokkerPlanckGrid:
    """Finite-volume grid in z = cos(theta), cells ordered by increasing z.

    Attributes:
        n_cells: number of cells (even, so that z = 0 is a face).
    """

    n_cells: int = 2000

    def __post_init__(self) -> None:
        if self.n_cells < 20 or self.n_cells % 2:
            raise ValueError(f"n_cells must be an even number >= 20, got {self.n_cells}")

    @property
    def faces(self) -> np.ndarray:
        """(n_cells + 1,) face positions, from z = -1 to z = +1."""
        theta = np.linspace(np.pi, 0.0, self.n_cells + 1)
        z = np.cos(theta)
        z[0], z[-1], z[self.n_cells // 2] = -1.0, 1.0, 0.0
        return z

    @property
    def centers(self) -> np.ndarray:
        theta = np.linspace(np.pi, 0.0, self.n_cells + 1)
        return np.cos(0.5 * (theta[:-1] + theta[1:]))


def _generator(grid: FokkerPlanckGrid, delta: float, current: float, field: float):
    """Sparse matrix M with dP/ds = M P for the cell probabilities P (n_cells,)."""
    faces, centers = grid.faces, grid.centers
    widths = np.diff(faces)
    zf = faces[1:-1]  # interior faces
    spacing = centers[1:] - centers[:-1]
    diffusion = (1.0 - zf**2) / (2.0 * delta)
    drift_rate = 2.0 * delta * (zf + field - current)  # d(potential)/dz at the face
    peclet = drift_rate * spacing
    # Flux towards +z through a face: J = (D/dz)[B(-Pe) rho_lower - B(Pe) rho_upper],
    # with rho = P / width.
    from_lower = diffusion / spacing * _bernoulli(-peclet) / widths[:-1]
    from_upper = diffusion / spacing * _bernoulli(peclet) / widths[1:]
    n = grid.n_cells
    main = np.zeros(n)
    main[:-1] -= from_lower  # cell k loses through its upper face
    main[1:] -= from_upper  # cell k+1 loses through its lower face
    return sparse.diags([from_upper, main, from_lower], [1, 0, -1], shape=(n, n), format="csc")


def initial_density(grid: FokkerPlanckGrid, delta: float) -> np.ndarray:
    """Cell probabilities (n_cells,) of equilibrium in the upper well, exp(delta z^2), z > 0."""
    faces = grid.faces
    # Exact cell integrals of exp(delta (z^2 - 1)) by a fine Gauss-Legendre rule per cell.
    nodes, weights = np.polynomial.legendre.leggauss(8)
    lo, hi = faces[:-1], faces[1:]
    z = 0.5 * (hi - lo)[:, None] * nodes[None, :] + 0.5 * (hi + lo)[:, None]
    mass = 0.5 * (hi - lo) * (np.exp(delta * (z**2 - 1.0)) @ weights)
    mass[grid.centers <= 0] = 0.0
    return mass / mass.sum()


def fpe_wer(
    delta: float,
    current: float,
    times: np.ndarray,
    *,
    field: float = 0.0,
    grid: FokkerPlanckGrid = FokkerPlanckGrid(),
    rtol: float = 1e-7,
    floor: float = 1e-16,
) -> np.ndarray:
    """Write error rate P(z > 0) after pulses of reduced lengths ``times``.

    Args:
        delta: thermal stability factor (> 0).
        current: reduced current i = I / ic0 (>= 0).
        times: (T,) increasing reduced pulse widths s = t / tau_d (> 0).
        field: reduced axial field h = H / Hk (positive stabilises the initial state).
        floor: the integration stops once the WER falls below ``floor``.
    Returns:
        (T,) WER values in [0, 1]; 0 after the WER has fallen below ``floor``.
    """
    times = np.asarray(times, dtype=np.float64)
    if delta <= 0 or current < 0 or np.any(times <= 0) or np.any(np.diff(times) <= 0):
        raise ValueError("need delta > 0, current >= 0 and increasing times > 0")
    matrix = _generator(grid, delta, current, field)
    start = initial_density(grid, delta)
    upper = grid.centers > 0

    def resolved(_s: float, p: np.ndarray) -> float:
        return float(p[upper].sum()) - floor

    resolved.terminal = True  # type: ignore[attr-defined]
    # Each cell's absolute tolerance is far below the smallest WER resolved (floor).
    solution = solve_ivp(lambda _s, p: matrix @ p, (0.0, float(times[-1])), start,
                         method="BDF", t_eval=times, jac=matrix, rtol=rtol,
                         atol=floor * 1e-6, events=resolved,
                         first_step=min(1e-4, float(times[0]) / 10))
    if solution.status < 0:
        raise RuntimeError(f"Fokker-Planck integration failed: {solution.message}")
    wer = np.zeros(times.size)  # below the floor: reported as 0 (callers extrapolate)
    wer[: solution.y.shape[1]] = np.clip(solution.y[upper].sum(axis=0), 0.0, 1.0)
    return wer
