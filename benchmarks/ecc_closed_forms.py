"""Closed-form residual rates against the real decoders' Monte Carlo (not a test).

For each code and raw BER: encode random words, flip every stored bit with probability p,
decode, and compare the data-word error rate (Clopper-Pearson 95 % CI) and the residual
BER (mean wrong data bits per data bit, 95 % CI over words) with `mrambnn.memory.ecc_rates`.

    .venv/bin/python benchmarks/ecc_closed_forms.py
"""

import numpy as np

from mrambnn.experiments.stats import binomial_interval
from mrambnn.memory.ecc import get_code
from mrambnn.memory.ecc_channel import store_with_code
from mrambnn.memory.ecc_rates import residual_ber, residual_word_error_rate

CASES = {
    "secded-72-64": ((1e-3, 3e-3, 1e-2), 1_000_000),
    "bch-dec-78-64": ((3e-3, 6e-3, 1.2e-2), 100_000),
    "bch-tec-85-64": ((6e-3, 1.2e-2, 2.4e-2), 50_000),
}


def main() -> None:
    print(f"{'code':15s} {'raw BER':>8s} {'word MC [95% CI]':>32s} {'closed':>9s} "
          f"{'residual BER MC [95% CI]':>34s} {'closed':>9s}")
    for name, (bers, n_words) in CASES.items():
        code = get_code(name)
        for i, p in enumerate(bers):
            rng = np.random.default_rng(7 + i)
            words = rng.integers(0, 2**64, (n_words, code.k // 64), dtype=np.uint64)
            decoded, _ = store_with_code(words, code, p, rng=rng)
            wrong = np.bitwise_count(decoded ^ words).sum(axis=1)
            failed = int((wrong > 0).sum())
            low, high = binomial_interval(failed, n_words)
            per_bit = wrong / code.k
            half = 1.96 * per_bit.std(ddof=1) / np.sqrt(n_words)
            print(f"{name:15s} {p:8.1e} {failed / n_words:9.3e} [{low:.3e}, {high:.3e}] "
                  f"{residual_word_error_rate(code, p):9.3e} {per_bit.mean():9.3e} "
                  f"[{per_bit.mean() - half:.3e}, {per_bit.mean() + half:.3e}] "
                  f"{residual_ber(code, p):9.3e}")


if __name__ == "__main__":
    main()
