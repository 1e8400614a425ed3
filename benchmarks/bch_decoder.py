"""The compiled BCH decoder against galois' decoder, and a BCH sweep at high BER. Not a test.

(1) Words per second of `mrambnn.memory.bch` and of galois 0.4.11 on the same 20,000
    received words of BCH(78, 64) (half random words, half codewords with 0..6 errors),
    both warmed up first, in this process: their ratio.
(2) The issue's case: `mrambnn sweep --code bch-dec-78-64 --bers 0.03,0.1 --n-images 1000
    --draws 3` (mnist-mlp), wall time in a fresh process (galois' construction of the code,
    about 4-8 s, included).

    .venv/bin/python benchmarks/bch_decoder.py
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import galois
import numpy as np

from mrambnn.memory.ecc import get_code


def words(code, n, rng):
    half = n // 2
    uniform = rng.integers(0, 2, (half, code.n)).astype(np.uint8)
    near = code.encode(rng.integers(0, 2, (n - half, code.k)).astype(np.uint8))
    for row, count in zip(near, rng.integers(0, 7, len(near)), strict=True):
        row[rng.choice(code.n, count, replace=False)] ^= 1
    return np.concatenate([uniform, near])


def main() -> None:
    code = get_code("bch-dec-78-64")
    received = words(code, 20_000, np.random.default_rng(0))
    reference = galois.BCH(code.n_full, code.k_full)
    code.decode_words(received[:10])
    reference.decode(galois.GF2(received[:10]))
    start = time.perf_counter()
    mine = code.decode_words(received)
    ours = time.perf_counter() - start
    start = time.perf_counter()
    theirs = reference.decode(galois.GF2(received), output="codeword", errors=True)
    galois_time = time.perf_counter() - start
    assert (np.asarray(theirs[1]) == mine[1]).all()
    print(f"(1) 20,000 words: compiled {ours:.3f} s ({20_000 / ours:,.0f} words/s), galois "
          f"{galois_time:.2f} s ({20_000 / galois_time:,.0f} words/s): {galois_time / ours:.0f}x")
    with tempfile.TemporaryDirectory() as folder:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mrambnn.cli", "sweep", "--code", "bch-dec-78-64",
                        "--bers", "0.03,0.1", "--n-images", "1000", "--draws", "3", "--out",
                        str(Path(folder) / "s.json")], check=True, capture_output=True)
        print(f"(2) BCH(78, 64) sweep, BER 0.03 and 0.1, 1,000 images, 3 draws: "
              f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
