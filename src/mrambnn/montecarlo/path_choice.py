"""Where the 'auto' path of `DrawEvaluator` switches from incremental to full evaluation,
measured on the machine at hand and cached per machine and network.

Both paths give identical predictions; only their time differs, and the crossover (the
fraction of flipped weights above which a full re-evaluation is faster) depends on the
processor (its popcount width, caches, core count), on the network and on how the
draws are handed over. So it is measured, not assumed: `measure_full_above` times both
paths on a sample of the evaluator's images, with blocks of `DRAWS_PER_CALL` draws of
exactly ``f * n_weights`` flipped weights for fractions f on a decade grid, from the
smallest until the incremental path is the slower, and interpolates where their time
ratio crosses 1 (in log-log). Timings are taken after a warm-up call (compilation) and
the fastest of `REPEATS` is kept. It takes a few seconds per network.

The result is cached in ``paths.json`` of the cache folder (``$MRAMBNN_CACHE_DIR``, else
``$XDG_CACHE_HOME/mrambnn``, else ``~/.cache/mrambnn``), keyed by this machine (processor
model and flags, usable cores, numba version) and the network's content, and rewritten
atomically; an unreadable cache is measured again. ``MRAMBNN_FULL_ABOVE=<fraction>``
overrides both (no measurement).
"""

import hashlib
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path

import numba
import numpy as np

from mrambnn.engine import PackedNet, predict, predict_draws
from mrambnn.engine.threads import cores

__all__ = ["DRAWS_PER_CALL", "FRACTIONS", "cache_file", "cached_full_above",
           "cpu_model_and_flags", "machine_key", "measure_full_above"]

# Flipped-weight fractions timed, smallest first; measuring stops once the incremental
# path is clearly slower.
FRACTIONS = (1e-5, 1e-4, 1e-3, 1e-2, 1e-1)
DRAWS_PER_CALL = 4  # draws per timed call (a sweep hands blocks of 32: a little faster)
SAMPLE_IMAGES = 256  # images timed
REPEATS = 2  # timed calls per path and fraction; the fastest counts
_CPU_FLAGS = ("avx2", "avx512f", "avx512bw", "avx512_vpopcntdq", "neon", "sve")
_MEMORY: dict[str, float] = {}  # this process's cached crossovers
# The two paths timed: a new one (a faster full pass, a faster incremental kernel)
# invalidates the cached crossovers.
_PATHS = ("predict_draws, first layer reused where timed cheaper, register-tiled full pass",
          "incremental: int8/int16 column adds, flip records, compress, output slack")


def cpu_model_and_flags() -> tuple[str, set[str]]:
    """This processor's model name and its flags, from /proc/cpuinfo (the platform's
    processor name and no flags where that file is absent)."""
    model, flags = platform.processor() or platform.machine(), set()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as stream:
            for line in stream:
                key, _, value = line.partition(":")
                if key.strip() == "model name":
                    model = value.strip()
                elif key.strip() in ("flags", "Features"):
                    flags = set(value.split())
                    break
    except OSError:
        pass
    return model, flags


def machine_key() -> str:
    """What decides the crossover on this machine: processor model, its SIMD flags, the
    usable cores, the numba version and the paths' kinds (a short hex digest)."""
    model, flags = cpu_model_and_flags()
    text = repr((model, sorted(flags & set(_CPU_FLAGS)), cores(), numba.__version__,
                 _PATHS))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def cache_file() -> Path:
    """``paths.json`` in the cache folder (module docstring)."""
    if os.environ.get("MRAMBNN_CACHE_DIR"):
        return Path(os.environ["MRAMBNN_CACHE_DIR"]) / "paths.json"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "mrambnn" / "paths.json"


def _flipped_draw(net: PackedNet, fraction: float, rng: np.random.Generator
                  ) -> tuple[np.ndarray, ...]:
    """The stored weights of ``net`` with round(fraction * n_weights) distinct weights
    flipped, spread uniformly over all layers."""
    sizes = np.array([layer.n_weights for layer in net.layers], np.int64)
    count = min(int(round(fraction * sizes.sum())), int(sizes.sum()))
    picked = np.sort(rng.choice(int(sizes.sum()), size=count, replace=False))
    starts = np.concatenate([[0], np.cumsum(sizes)])
    words = []
    for i, layer in enumerate(net.layers):
        w = layer.weight_words.copy()
        local = picked[(picked >= starts[i]) & (picked < starts[i + 1])] - starts[i]
        rows, columns = np.divmod(local, layer.in_features)  # bit c of a row: word c // 64
        masks = np.left_shift(np.uint64(1), (columns % 64).astype(np.uint64))
        np.bitwise_xor.at(w, (rows, columns // 64), masks)
        words.append(w)
    return tuple(words)


def _fastest(call: Callable[[], object]) -> float:
    best = np.inf
    for _ in range(REPEATS):
        began = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - began)
    return float(best)


def measure_full_above(net: PackedNet, images: np.ndarray, incremental: Callable[
        [Sequence[Sequence[np.ndarray]]], np.ndarray], *, rng: np.random.Generator,
        fractions: Sequence[float] = FRACTIONS) -> tuple[float, list[tuple[float, float]]]:
    """The flipped-weight fraction above which the full path is faster, on this machine.

    Args:
        net: the clean network.
        images: (n, H, W, C) uint8, the sample the incremental evaluator was built on.
        incremental: its ``predict_draws`` (draws -> (D, n) labels).
        rng: the stream of the flipped weights timed.
        fractions: the grid timed, increasing.
    Returns:
        the crossover fraction, and the (fraction, incremental / full time) pairs timed.
        Below the grid's first point the incremental path is assumed faster; a grid on
        which it never loses gives its last point.
    """
    ratios: list[tuple[float, float]] = []
    for fraction in fractions:
        draws = [_flipped_draw(net, fraction, rng) for _ in range(DRAWS_PER_CALL)]
        incremental(draws[:1])  # compiled and warm
        predict(net, images[:1])
        slow = _fastest(partial(incremental, draws))
        fast = _fastest(partial(predict_draws, net, images, draws))
        ratios.append((float(fraction), slow / max(fast, 1e-9)))
        if ratios[-1][1] >= 1.0:  # crossed: the larger fractions are not needed
            break
    return _crossover(ratios, fractions[-1]), ratios


def _crossover(ratios: list[tuple[float, float]], last: float) -> float:
    """Where log(ratio) crosses 0, linear in log(fraction) between the two grid points
    around it; the first point when already >= 1 there, ``last`` when never."""
    if ratios[0][1] >= 1.0:
        return ratios[0][0]
    for (f0, r0), (f1, r1) in zip(ratios, ratios[1:], strict=False):
        if r1 >= 1.0:
            t = -np.log(r0) / (np.log(r1) - np.log(r0))
            return float(np.exp(np.log(f0) + t * (np.log(f1) - np.log(f0))))
    return last


def _read_cache(path: Path) -> dict[str, float]:
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
        return {str(k): float(v) for k, v in content.items()}
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def _write_cache(path: Path, key: str, value: float) -> None:
    """Add ``key`` to the cache file, atomically; a cache that cannot be written is
    skipped (the value is kept in this process)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        content = _read_cache(path)
        content[key] = value
        descriptor, partial = tempfile.mkstemp(dir=path.parent, prefix=".paths-")
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(content, stream, indent=1, sort_keys=True)
        os.replace(partial, path)
    except OSError:
        pass


def cached_full_above(net: PackedNet, layout: str, measure: Callable[[], float]) -> float:
    """The crossover of ``net`` for evaluator ``layout`` on this machine: from
    ``MRAMBNN_FULL_ABOVE``, this process, or the cache file; else ``measure()``, stored."""
    if os.environ.get("MRAMBNN_FULL_ABOVE"):
        try:
            value = float(os.environ["MRAMBNN_FULL_ABOVE"])
        except ValueError as error:
            raise ValueError(f"MRAMBNN_FULL_ABOVE must be a fraction, got "
                             f"{os.environ['MRAMBNN_FULL_ABOVE']!r}") from error
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"MRAMBNN_FULL_ABOVE must be in [0, 1], got {value}")
        return value
    key = f"{machine_key()}:{layout}:{net.content_sha256()[:16]}"
    if key not in _MEMORY:
        path = cache_file()
        stored = _read_cache(path).get(key)
        if stored is None or not 0.0 <= stored <= 1.0:
            stored = measure()
            _write_cache(path, key, stored)
        _MEMORY[key] = stored
    return _MEMORY[key]
