"""The packed engine's full pass: binary MAC/s per layer against this machine's peak.

Not a test. First a micro-benchmark of the popcount loop itself estimates the peak:
compiled loops of XOR + popcount + add over operands that stay in the L1 cache (loops
over contiguous outputs, which LLVM vectorises, with VPOPCNTQ where the CPU has AVX-512
VPOPCNTDQ, and the conv layers' register tile, `mrambnn.engine.register_tiles`), on one
thread and on every core at once; 64 binary MACs per word; the fastest is the peak. Then
each network runs on test images: the whole pass (`forward`, uint8 images to scores),
whose binary MACs per second is the headline, and layer by layer (the engine's own
functions, bits packed between layers as in `forward`); each layer's nominal MACs (conv:
output pixels x k*k*C x filters; dense: in x out) give its rate and its share of the
all-core peak. The first layer multiplies integer pixels: its rate is of integer MACs,
not a share of the popcount peak, and its MACs are not binary ones.

    .venv/bin/python benchmarks/full_pass.py --models mnist-mlp cifar-vgg --n-images 2000
"""

import argparse
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numba import njit

from mrambnn.datasets import load_test_set
from mrambnn.engine import Conv, PackedNet, forward, forward_from
from mrambnn.engine.network import layer_words
from mrambnn.engine.primitives import popcount
from mrambnn.engine.register_tiles import make_popcount_tile
from mrambnn.engine.threads import cores
from mrambnn.models import load_model
from mrambnn.montecarlo.path_choice import cpu_model_and_flags

WORDS, OUTPUTS = 16, 64  # 8 KiB of weights: in L1 on every machine we run on


@njit(nogil=True, cache=True)
def _one_word(x, w, rounds, acc):  # type: ignore[no-untyped-def]
    # one popcount per accumulator update: the engine's dense kernel
    for _ in range(rounds):
        for k in range(x.size):
            xk = x[k]
            wk = w[k]
            for j in range(acc.size):
                acc[j] += np.int32(popcount(xk ^ wk[j]))
    return acc.sum()


@njit(nogil=True, cache=True)
def _four_words(x, w, rounds, acc):  # type: ignore[no-untyped-def]
    # four popcounts per update: the engine's conv kernel
    for _ in range(rounds):
        for k in range(0, x.size, 4):
            x0, x1, x2, x3 = x[k], x[k + 1], x[k + 2], x[k + 3]
            w0, w1, w2, w3 = w[k], w[k + 1], w[k + 2], w[k + 3]
            for j in range(acc.size):
                acc[j] += np.int32(popcount(x0 ^ w0[j]) + popcount(x1 ^ w1[j])
                                   + popcount(x2 ^ w2[j]) + popcount(x3 ^ w3[j]))
    return acc.sum()


@njit(nogil=True, cache=True)
def _wide_accumulators(x, w, rounds, acc):  # type: ignore[no-untyped-def]
    # 64-bit accumulators: no narrowing between popcount and add
    for _ in range(rounds):
        for k in range(0, x.size, 2):
            x0, x1 = x[k], x[k + 1]
            w0, w1 = w[k], w[k + 1]
            for j in range(acc.size):
                acc[j] += popcount(x0 ^ w0[j]) + popcount(x1 ^ w1[j])
    return acc.sum()


_TILE = make_popcount_tile(4, 2)


@njit(nogil=True, cache=True)
def _register_tile(x, w, rounds, acc):  # type: ignore[no-untyped-def]
    # the engine's conv tile: 4 pixels x 16 outputs, accumulators in registers
    offsets = np.arange(x.size - 3, dtype=np.int64)
    flat = w.reshape(-1)
    n_out = w.shape[1]
    sums = np.zeros(4 * 16, np.int32)
    for _ in range(rounds):
        for f0 in range(0, n_out, 16):
            _TILE(sums, 0, 16, x, 0, 1, offsets, flat, f0, n_out, offsets.size)
            acc[f0] += sums[0]
    return acc.sum()


LOOPS = {"one word per update": (_one_word, np.int32, 1),
         "four words per update": (_four_words, np.int32, 1),
         "64-bit accumulators": (_wide_accumulators, np.uint64, 1),
         "register tile (4 pixels x 16 outputs)": (_register_tile, np.int32, 4)}


def peak_macs(loop, dtype, pixels: int, threads: int, seconds: float = 1.0
              ) -> float:  # type: ignore[no-untyped-def]
    """Binary MACs per second of the popcount ``loop`` on ``threads`` threads at once
    (``pixels``: inputs each weight word serves; the tile's words per pixel are WORDS - 3,
    each pixel reading the next word on)."""
    rng = np.random.default_rng(0)
    operands = [(rng.integers(0, 2**63, WORDS, dtype=np.uint64),
                 rng.integers(0, 2**63, (WORDS, OUTPUTS), dtype=np.uint64),
                 np.zeros(OUTPUTS, dtype)) for _ in range(threads)]
    loop(*operands[0][:2], 1, operands[0][2])  # compile
    rounds = 1000
    while True:
        began = time.perf_counter()
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda o, r=rounds: loop(o[0], o[1], r, o[2]), operands))
        elapsed = time.perf_counter() - began
        if elapsed >= seconds:
            words = WORDS if pixels == 1 else (WORDS - 3) * pixels
            return threads * rounds * words * OUTPUTS * 64 / elapsed
        rounds *= 2 if elapsed < seconds / 4 else 1 + int(seconds / elapsed)


def layer_macs(layer) -> int:  # type: ignore[no-untyped-def]
    """Nominal MACs of one image through ``layer``."""
    if isinstance(layer, Conv):
        h, w, out = layer.conv_shape
        return h * w * out * layer.in_features
    return layer.out_features * layer.in_features


def per_layer(net: PackedNet, images: np.ndarray, repeats: int = 3) -> list[float]:
    """Seconds of each layer on ``images`` (fastest of ``repeats``), the bits packed
    between layers as in `forward` (the last layer: its scores)."""
    best = [np.inf] * len(net.layers)
    for _ in range(repeats):
        activation = net.first_input(images)
        for i, layer in enumerate(net.layers):
            began = time.perf_counter()
            if i < len(net.layers) - 1:
                activation = layer_words(layer, activation)
            else:
                forward_from(net, activation, start=i, packed=True)
            best[i] = min(best[i], time.perf_counter() - began)
    return best


def whole_pass(net: PackedNet, images: np.ndarray, repeats: int = 5) -> float:
    """Seconds of `forward` on ``images``, uint8 to scores (fastest of ``repeats``)."""
    best = np.inf
    for _ in range(repeats):
        began = time.perf_counter()
        forward(net, images)
        best = min(best, time.perf_counter() - began)
    return float(best)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", nargs="+", default=["mnist-mlp", "fashion-conv",
                                                        "cifar-vgg"])
    parser.add_argument("--n-images", type=int, default=2000)
    args = parser.parse_args()
    model, flags = cpu_model_and_flags()
    n_cores = cores()
    print(f"CPU: {model}, {n_cores} cores, AVX-512 VPOPCNTDQ: "
          f"{'yes' if 'avx512_vpopcntdq' in flags else 'no'}")
    every = 0.0
    for label, (loop, dtype, pixels) in LOOPS.items():
        # the best of three: this machine's speed varies from second to second
        one = max(peak_macs(loop, dtype, pixels, 1) for _ in range(3))
        all_cores = max(peak_macs(loop, dtype, pixels, n_cores) for _ in range(3))
        every = max(every, all_cores)
        print(f"popcount loop, {label}: {one / 1e12:.2f} T binary MAC/s on one core, "
              f"{all_cores / 1e12:.2f} T on {n_cores}")
    print(f"peak (the best loop): {every / 1e12:.2f} T binary MAC/s")
    for name in args.models:
        net = load_model(name)
        images = load_test_set(net.metadata["dataset"]).x_test[:args.n_images]
        n = len(images)
        forward(net, images[:64])  # compile
        seconds = per_layer(net, images)
        whole = whole_pass(net, images)
        total_macs = sum(layer_macs(layer) for layer in net.layers)
        binary_macs = sum(layer_macs(layer) for layer in net.layers
                          if not layer.integer_input)
        print(f"\n### {name}: {n} images, {total_macs / 1e6:.1f} M MACs per image "
              f"({binary_macs / 1e6:.1f} M binary); the whole pass (`forward`): "
              f"{n / whole:,.0f} images/s, {binary_macs * n / whole / 1e12:.3f} T binary "
              f"MAC/s ({100 * binary_macs * n / whole / every:.0f} % of peak); layer by "
              f"layer: {n / sum(seconds):,.0f} images/s")
        print("| layer | kind | M MACs / image | share of time | G MAC/s | of peak |")
        print("|---|---|---|---|---|---|")
        for i, (layer, s) in enumerate(zip(net.layers, seconds, strict=True)):
            macs = layer_macs(layer)
            rate = macs * n / s
            kind = ((f"conv {layer.filter_size}x{layer.filter_size}"
                     f"{' +pool' if layer.pool else ''}") if isinstance(layer, Conv)
                    else "dense") + (" (integer)" if layer.integer_input else "")
            share = "" if layer.integer_input else f"{100 * rate / every:.0f} %"
            print(f"| {i} | {kind} | {macs / 1e6:.2f} | {100 * s / sum(seconds):.0f} % | "
                  f"{rate / 1e9:.1f} | {share} |")


if __name__ == "__main__":
    main()
