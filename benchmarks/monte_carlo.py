"""Monte Carlo throughput: naive float PyTorch vs packed full re-evaluation vs incremental.

Not a test. For each model and BER, the same fault draws (`mrambnn.memory.BitFlip`, the
sweep's streams) are evaluated three ways, in this process:

(a) naive: what researchers usually do. A float32 PyTorch copy of the network whose
    weights are sign(W) times a +-1 error mask drawn with one uniform random number per
    weight (`torch.rand`, timed), re-run in full on every image. So that (a) can be
    compared prediction by prediction, the mask applied is the one of the shared draw.
(b) full: the packed engine re-evaluates every image (compiled XNOR-popcount kernels).
(c) incremental: `mrambnn.engine.incremental.DrawEvaluator` on its automatic
    path, given all the draws of a BER at once as a sweep does: image by image, one
    clean pass for all the draws, then only what each draw changes (`dense_draws` for
    the MLP, `conv_draws` for conv nets; above the crossover measured on this machine,
    `mrambnn.montecarlo.path_choice`, the full path).
    Its set-up (built once per model) is reported apart.
It checks that the three give identical predictions for every draw, and prints the
throughput (image x draw evaluations per second) and its ratio to (a). Memory: peak
NumPy memory of (b) and (c) by tracemalloc (in a second, untimed run), and the process's
peak resident size.

    .venv/bin/python benchmarks/monte_carlo.py --models mnist-mlp --draws 20
    .venv/bin/python benchmarks/monte_carlo.py --models cifar-vgg --draws 20 --n-images 1000

(20 draws per BER, as in the sweeps: the clean pass is shared by a point's draws.)
"""

import argparse
import resource
import time
import tracemalloc

import numpy as np
import torch

from mrambnn.bits import unpack_signs
from mrambnn.datasets import load_dataset
from mrambnn.engine import Conv, PackedNet, predict
from mrambnn.engine.layers import Threshold
from mrambnn.experiments import draw_rng
from mrambnn.experiments.deploy import corrupt_net
from mrambnn.memory import BitFlip
from mrambnn.models import SHIPPED_MODELS, load_model
from mrambnn.montecarlo import DrawEvaluator


def _float_weights(layer, words):  # type: ignore[no-untyped-def]
    signs = torch.from_numpy(unpack_signs(words, layer.in_features).astype(np.float32))
    if isinstance(layer, Conv):
        k, c = layer.filter_size, layer.in_shape[2]
        return signs.reshape(-1, k, k, c).permute(0, 3, 1, 2).contiguous()
    return signs


def naive_predict(net: PackedNet, images: torch.Tensor, words, ber: float,
                  generator: torch.Generator, batch: int = 1000) -> np.ndarray:
    """(a): float32 forward with sign(W) * mask, ``batch`` images at a time; images
    (N, C, H, W) or (N, features) float32, minus the input offset."""
    weights = []
    for layer, w in zip(net.layers, words, strict=True):
        signs = _float_weights(layer, w)
        mask = torch.where(torch.rand(signs.shape, generator=generator) < ber, -1.0, 1.0)
        del mask  # its cost is the naive method's; the draw's own faults are in ``words``
        weights.append(signs)
    return np.concatenate([_naive_forward(net, images[i:i + batch], weights)
                           for i in range(0, len(images), batch)])


def _naive_forward(net: PackedNet, x: torch.Tensor, weights: list[torch.Tensor]
                   ) -> np.ndarray:
    for layer, w in zip(net.layers, weights, strict=True):
        if isinstance(layer, Conv):
            a = torch.nn.functional.conv2d(x, w, padding=layer.filter_size // 2)
            if layer.pool:
                a = torch.nn.functional.max_pool2d(a, 2)
            shape = (1, -1, 1, 1)
        else:
            if x.dim() == 4:  # the engine flattens feature maps in (H, W, C) order
                x = x.permute(0, 2, 3, 1).reshape(len(x), -1)
            a = x @ w.T
            shape = (1, -1)
        head = layer.head
        if isinstance(head, Threshold):
            direction = torch.from_numpy(head.direction.astype(np.float32)).reshape(shape)
            threshold = torch.from_numpy(head.threshold.astype(np.float32)).reshape(shape)
            x = torch.where(direction * a >= threshold, 1.0, -1.0)
        else:
            scores = a.double() * torch.from_numpy(head.scale) + torch.from_numpy(head.offset)
            return scores.argmax(dim=1).numpy()
    raise AssertionError("the last layer has an Affine head")


_REPEATS = [1]  # timed runs per method, the fastest kept (--repeats)


def _measure(function, *, memory: bool = True):  # type: ignore[no-untyped-def]
    """(result, seconds, peak traced bytes): timed on its own (the fastest of `_REPEATS`
    runs), then, where ``memory``, run again under tracemalloc for the peak (tracing every
    NumPy allocation slowed the incremental engine by up to 25 %, so it never runs during
    the timed call)."""
    elapsed = float("inf")
    for _ in range(_REPEATS[0]):
        began = time.perf_counter()
        result = function()
        elapsed = min(elapsed, time.perf_counter() - began)
    if not memory:
        return result, elapsed, 0
    tracemalloc.start()
    function()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return result, elapsed, peak


def bench_model(name: str, n_images: int | None, draws: int, bers: list[float]) -> None:
    net = load_model(name)
    data = load_dataset(net.metadata["dataset"])
    images = data.x_test if n_images is None else data.x_test[:n_images]
    n = len(images)
    as_float = torch.from_numpy(images.astype(np.float32) - net.input_offset)
    if isinstance(net.layers[0], Conv):
        as_float = as_float.permute(0, 3, 1, 2).contiguous()
    else:
        as_float = as_float.reshape(n, -1)
    evaluator, build, build_peak = _measure(lambda: DrawEvaluator(net, images))
    began = time.perf_counter()
    crossover = evaluator.full_above  # measured here (or cached), not in the timings below
    print(f"\n### {name}: {n} test images, {draws} draws per BER, {net.n_weights} weights; "
          f"incremental clean pass {build:.1f} s, {build_peak / 2**20:.0f} MiB; 'auto' "
          f"runs the full path above {crossover:.2e} flipped (crossover on this machine, "
          f"{time.perf_counter() - began:.1f} s)")
    print("| BER | naive (a) img*draw/s | full (b) | x(a) | incremental (c) | x(a) "
          "| peak MiB (b) / (c) | identical |")
    print("|---|---|---|---|---|---|---|---|")
    generator = torch.Generator().manual_seed(0)
    for ber in bers:
        nets = [corrupt_net(net, BitFlip(ber=ber), rng=draw_rng(2019, ber, d))
                for d in range(draws)]
        words = [f.weight_words for f in nets]
        # untimed: compiles the kernels and lets the automatic path settle, as it does
        # over the first draws of a sweep
        spare = [corrupt_net(net, BitFlip(ber=ber), rng=draw_rng(2019, ber, draws + d))
                 .weight_words for d in range(2)]
        evaluator.predict_many(spare)
        predict(nets[0], images[:10])
        a, t_a, _ = _measure(lambda words=words, ber=ber: [
            naive_predict(net, as_float, w, ber, generator) for w in words], memory=False)
        b, t_b, m_b = _measure(lambda nets=nets: [predict(f, images) for f in nets])
        c, t_c, m_c = _measure(lambda words=words: list(evaluator.predict_many(words)))
        same = all(np.array_equal(x, y) and np.array_equal(y, z)
                   for x, y, z in zip(a, b, c, strict=True))
        rate = [n * draws / t for t in (t_a, t_b, t_c)]
        print(f"| {ber:g} | {rate[0]:,.0f} | {rate[1]:,.0f} | {rate[1] / rate[0]:.1f} | "
              f"{rate[2]:,.0f} | {rate[2] / rate[0]:.1f} | {m_b / 2**20:.0f} / "
              f"{m_c / 2**20:.0f} | {'yes' if same else 'NO'} |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["mnist-mlp"],
                        help=f"shipped models ({', '.join(SHIPPED_MODELS)})")
    parser.add_argument("--n-images", type=int, default=None, help="test subset (default all)")
    parser.add_argument("--draws", type=int, default=3, help="draws per BER")
    parser.add_argument("--bers", type=float, nargs="+", default=[1e-5, 1e-4, 1e-3, 1e-2, 1e-1])
    parser.add_argument("--threads", type=int, default=2, help="threads of every method")
    parser.add_argument("--repeats", type=int, default=1,
                        help="timed runs per method and BER, the fastest kept (this machine's "
                             "speed drifts 10-30 %% from minute to minute)")
    args = parser.parse_args()
    _REPEATS[0] = max(1, args.repeats)
    torch.set_num_threads(args.threads)
    for name in args.models:
        bench_model(name, args.n_images, args.draws, args.bers)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**10
    print(f"\nprocess peak resident memory: {peak:.0f} MiB")


if __name__ == "__main__":
    main()
