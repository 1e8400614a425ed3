"""Closed forms for what a t-error-correcting (n, k) code leaves behind at raw BER p.

With i.i.d. raw errors, the number of errors J in a stored word is Binomial(n, p).
- Uncorrectable word rate (the decoder does not return the codeword that was stored):
  ``P(J > t)``, exact for a bounded-distance decoder (a word with more than t errors is
  more than t away from the stored codeword, so it is never decoded back to it).
- Residual word error rate (the decoded data differ from the stored data): the same sum
  less the failed words whose errors all sit in parity bits and are not miscorrected:
  ``sum_{j > t} P(J = j) [1 - (1 - mu_j) C(n - k, j) / C(n, j)]``.
- Residual bit error rate (wrong data bits per data bit): a failed word keeps its J
  errors, spread uniformly over its n bits, and a miscorrection adds t more:
  ``residual_ber = sum_{j > t} P(J = j) (j + mu_j t) / n`` (the textbook formula, e.g.
  Sklar, Digital Communications, 2nd ed., eq. 6.46, is the mu = 0 case).
  mu_j, the chance that a word with j > t errors is miscorrected, follows the
  random-syndrome approximation: the syndrome of such a word is uniform over the
  2^(n-k) values, and the decoder corrects when it lands in one of the V(n, t) =
  sum_{i <= t} C(n, i) syndromes of correctable patterns. For extended-Hamming SECDED
  the overall parity bit makes even j never corrected (mu = 0), and odd j is miscorrected
  when the XOR of the j error positions' 7-bit syndromes names one of the 72 positions;
  that fraction is counted exactly over all j-subsets (dynamic programming on the
  syndrome XOR; 0.760 for j = 3, where 72/128 = 0.56 would underestimate it).
"""

from functools import cache

import numpy as np
from scipy.optimize import brentq
from scipy.special import comb
from scipy.stats import binom

from mrambnn.memory.ecc import BlockCode, get_code
from mrambnn.memory.faults import check_probability
from mrambnn.memory.secded import SYNDROMES

__all__ = ["miscorrection_probability", "raw_ber_for_residual", "residual_ber",
           "residual_word_error_rate", "uncorrectable_word_rate"]


def _code(code: BlockCode | str) -> BlockCode:
    return get_code(code) if isinstance(code, str) else code


def uncorrectable_word_rate(code: BlockCode | str, raw_ber: float) -> float:
    """P(a stored word is not decoded to the codeword that was stored) = P(J > t)."""
    code = _code(code)
    p = check_probability("raw_ber", raw_ber)
    return float(binom.sf(code.t, code.n, p))


def _error_counts(code: BlockCode) -> np.ndarray:
    return np.arange(code.t + 1, code.n + 1)


def _miscorrection(code: BlockCode, j: np.ndarray) -> np.ndarray:
    return np.array([miscorrection_probability(code, int(x)) for x in j])


def residual_word_error_rate(code: BlockCode | str, raw_ber: float) -> float:
    """P(the decoded data word differs from the stored one) (module docstring)."""
    code = _code(code)
    p = check_probability("raw_ber", raw_ber)
    j = _error_counts(code)
    mu = _miscorrection(code, j)
    parity_only = comb(code.n - code.k, j) / comb(code.n, j)
    return float(np.sum(binom.pmf(j, code.n, p) * (1 - (1 - mu) * parity_only)))


def miscorrection_probability(code: BlockCode | str, n_errors: int) -> float:
    """mu_j: chance that a word with ``n_errors`` > t errors is decoded to a wrong
    codeword while the decoder reports success (random-syndrome approximation)."""
    code = _code(code)
    if n_errors <= code.t:
        return 0.0
    if code.t == 0:
        return 1.0  # no decoder: every error passes silently
    if code.name == "secded-72-64":
        return 0.0 if n_errors % 2 == 0 else _secded_miscorrection(n_errors)
    sphere = sum(comb(code.n, i, exact=True) for i in range(code.t + 1))
    return min(1.0, sphere / 2.0 ** (code.n - code.k))


@cache
def _secded_miscorrection(n_errors: int) -> float:
    """Fraction of the n_errors-subsets of the 72 positions whose syndrome XOR is a
    position (0..71): counts[size, xor] built one position at a time."""
    counts = np.zeros((n_errors + 1, 128), dtype=np.float64)
    counts[0, 0] = 1.0
    for syndrome in SYNDROMES:
        counts[1:] = counts[1:] + counts[:-1][:, np.arange(128) ^ int(syndrome)]
    return float(counts[n_errors, :72].sum() / counts[n_errors].sum())


def residual_ber(code: BlockCode | str, raw_ber: float) -> float:
    """Wrong data bits per data bit after decoding (module docstring)."""
    code = _code(code)
    p = check_probability("raw_ber", raw_ber)
    if code.t == 0:
        return p
    j = _error_counts(code)
    mu = _miscorrection(code, j)
    return float(np.sum(binom.pmf(j, code.n, p) * (j + mu * code.t)) / code.n)


def raw_ber_for_residual(code: BlockCode | str, target: float, *,
                         measure: str = "word") -> float:
    """The raw BER at which the uncorrectable word rate (``measure="word"``, the usual
    memory reliability target) or the residual BER (``"bit"``) equals ``target``."""
    code = _code(code)
    if not 0 < target < 0.5:
        raise ValueError(f"target must be in (0, 0.5), got {target}")
    if measure not in ("word", "bit"):
        raise ValueError(f"measure must be 'word' or 'bit', got {measure!r}")
    rate = uncorrectable_word_rate if measure == "word" else residual_ber

    def gap(log_p: float) -> float:
        return float(np.log(rate(code, float(np.exp(log_p)))) - np.log(target))

    low, high = np.log(1e-30), np.log(0.45)
    if gap(high) < 0:
        return 0.45
    return float(np.exp(brentq(gap, low, high, xtol=1e-10)))
