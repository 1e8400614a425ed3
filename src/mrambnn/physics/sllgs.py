"""Reference simulator: stochastic Landau-Lifshitz-Gilbert-Slonczewski macrospin Monte Carlo.

Used by the tests to check the Fokker-Planck solver and the closed forms; not in any hot
path. Reduced units: fields in units of Hk_eff, time tau = gamma mu0 Hk t / (1 + alpha^2),
so that s = t / tau_d = alpha tau. Landau-Lifshitz form with thermal field eta:

    dm/dtau = -m x (H + eta) - alpha m x (m x (H + eta)) + alpha i m x (m x z)

with H = (m_z + h) z (uniaxial anisotropy along z plus an axial field). The spin torque
term pushes m away from +z, so a current i > 1 destabilises the initial state (m ~ +z).
The thermal field is white noise with <eta_k eta_l> = alpha / (delta (1 + alpha^2))
delta_kl delta(tau - tau'); this gives the Boltzmann distribution exp(delta m_z^2) and,
projected on z, exactly the 1-D Fokker-Planck equation. Integration: stochastic Heun
(Stratonovich), renormalising |m| = 1 after each step. Every run is vectorised over the
samples.
"""

import numpy as np

__all__ = ["sllgs_wer", "sample_initial_state"]


def sample_initial_state(delta: float, n: int, *, rng: np.random.Generator) -> np.ndarray:
    """(n, 3) unit vectors in equilibrium in the upper well: density of z ~ exp(delta z^2)."""
    grid = np.linspace(0.0, 1.0, 200_001)
    cdf = np.cumsum(np.exp(delta * (grid**2 - 1.0)))
    cdf /= cdf[-1]
    z = np.interp(rng.random(n), cdf, grid)
    phi = rng.uniform(0.0, 2 * np.pi, n)
    rho = np.sqrt(np.clip(1.0 - z**2, 0.0, None))
    return np.stack([rho * np.cos(phi), rho * np.sin(phi), z], axis=1)


def _rhs(m: np.ndarray, eta: np.ndarray, alpha: float, current: float, field: float) -> np.ndarray:
    h = eta.copy()
    h[:, 2] += m[:, 2] + field
    m_x_h = np.cross(m, h)
    z_axis = np.zeros_like(m)
    z_axis[:, 2] = 1.0
    return -m_x_h - alpha * np.cross(m, m_x_h) + alpha * current * np.cross(m, np.cross(m, z_axis))


def sllgs_wer(
    delta: float,
    current: float,
    widths: np.ndarray,
    *,
    n_samples: int = 20_000,
    alpha: float = 0.5,
    field: float = 0.0,
    dtau: float = 0.01,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo WER (fraction with m_z > 0) after reduced pulse widths ``widths``.

    Args:
        widths: (T,) increasing reduced widths s = t / tau_d.
        alpha: damping of the simulated macrospin; the reduced-time WER does not depend on
            it (axial symmetry), so a large value keeps the precession cheap to resolve.
        dtau: time step in units of 1/(gamma mu0 Hk) (1 + alpha^2).
    Returns:
        WER estimates (T,) and their binomial standard errors (T,).
    """
    widths = np.asarray(widths, dtype=np.float64)
    m = sample_initial_state(delta, n_samples, rng=rng)
    sigma = np.sqrt(alpha / (delta * (1 + alpha**2)) / dtau)
    steps = np.rint(widths / alpha / dtau).astype(int)
    wer = np.empty(widths.size)
    done = 0
    for k, target in enumerate(steps):
        for _ in range(target - done):
            eta = sigma * rng.standard_normal(m.shape)
            slope = _rhs(m, eta, alpha, current, field)
            guess = m + dtau * slope
            guess /= np.linalg.norm(guess, axis=1, keepdims=True)
            m = m + 0.5 * dtau * (slope + _rhs(guess, eta, alpha, current, field))
            m /= np.linalg.norm(m, axis=1, keepdims=True)
        done = target
        wer[k] = np.mean(m[:, 2] > 0)
    return wer, np.sqrt(np.clip(wer * (1 - wer), 1.0 / n_samples**2, None) / n_samples)
