"""Speed at ImageNet size: the packed graph engine against torch float32, in one run.

Not a test. For ``alexnet-bnn`` and ``resnet18-bnn`` (random weights and BatchNorm
statistics, 1,000 classes, 224 x 224 random images; speed does not depend on the
values): images per second of the packed full pass (`graph_forward`) and of the torch
model in float32 (``torch.no_grad``, eval mode), both on every core, the packed engine
in batches of ``--batch`` (default: the network's `GraphNet.batch_size`), torch in
batches of ``--torch-batch``; peak resident memory after each part; the seconds one
Monte Carlo draw takes at BER 1e-3 over ``--draw-images`` images (flip the stored binary
weights, evaluate; the first ``--time-images`` are timed and the rest projected); and
from these the projected wall time of the paper's full grid, 9 BERs x 20 draws x 50,000
validation images, on this machine. The per-node time of the packed pass is printed too.

    .venv/bin/python benchmarks/imagenet_speed.py --images 64
"""

import argparse
import resource
import time

import numpy as np
import torch

from mrambnn.engine.graph import GraphNet, graph_forward
from mrambnn.engine.threads import cores
from mrambnn.memory.faults import BitFlip
from mrambnn.montecarlo.path_choice import cpu_model_and_flags
from mrambnn.nn.graph_export import export_graph
from mrambnn.nn.imagenet_models import build_imagenet_model, input_levels

GRID = (9, 20, 50_000)  # BERs, draws, validation images


def _peak_gib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _random_model(name: str) -> torch.nn.Module:
    torch.manual_seed(0)
    model = build_imagenet_model(name, 1000)
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm1d | torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 5, generator=g)
                m.running_var.uniform_(1, 30, generator=g)
    return model.eval()


def _rate(run, images: np.ndarray, batch: int) -> float:  # type: ignore[no-untyped-def]
    """Images per second of ``run`` over ``images`` in batches (after one warm-up
    batch)."""
    run(images[:batch])
    began = time.perf_counter()
    for i in range(0, len(images), batch):
        run(images[i:i + batch])
    return len(images) / (time.perf_counter() - began)


def _node_times(net: GraphNet, images: np.ndarray) -> dict[str, float]:
    """Seconds per image of each operation type over one batch."""
    from mrambnn.engine import graph as graph_module

    spent: dict[str, float] = {}
    evaluate = graph_module._evaluate

    def timed(node, args, kinds):  # type: ignore[no-untyped-def]
        began = time.perf_counter()
        out = evaluate(node, args, kinds)
        key = f"{type(node).__name__}({kinds[0]})"
        spent[key] = spent.get(key, 0.0) + time.perf_counter() - began
        return out
    graph_module._evaluate = timed  # type: ignore[assignment]
    try:
        graph_forward(net, images)
    finally:
        graph_module._evaluate = evaluate  # type: ignore[assignment]
    return {key: value / len(images) for key, value in sorted(spent.items(),
                                                                key=lambda kv: -kv[1])}


def _draw_seconds(net: GraphNet, images: np.ndarray, batch: int, total: int) -> float:
    """Seconds of one Monte Carlo draw at BER 1e-3 over ``total`` images, from the time
    of the fault injection plus ``len(images)`` images."""
    rng = np.random.default_rng(2)
    began = time.perf_counter()
    fault = BitFlip(ber=1e-3)
    words = [fault.corrupt(w, bits, rng=rng)
             for w, bits in zip(net.weight_words, net.weight_bits, strict=True)]
    faulty = net.with_weight_words(words)
    inject = time.perf_counter() - began
    began = time.perf_counter()
    for i in range(0, len(images), batch):
        np.argmax(graph_forward(faulty, images[i:i + batch])[0], axis=1)
    return inject + (time.perf_counter() - began) * total / len(images)


def _measure(name: str, images: np.ndarray, args: argparse.Namespace) -> None:
    model = _random_model(name)
    levels = input_levels(model)
    net = export_graph(model, input_shape=(224, 224, 3), input_levels=levels)
    mram = sum(r.weights for r in net.storage() if r.storage == "mram")
    sram = sum(r.weights for r in net.storage() if r.storage == "sram")
    print(f"\n{name}: {mram / 1e6:.2f} M binary weights in the MRAM, "
          f"{sram / 1e6:.2f} M real values error-free")

    def torch_run(batch: np.ndarray) -> None:
        x = torch.as_tensor(levels[np.arange(3), batch].astype(np.float32))
        with torch.no_grad():
            model(x.permute(0, 3, 1, 2).contiguous())

    batch = args.batch or net.batch_size
    torch_rate = _rate(torch_run, images, args.torch_batch)
    torch_peak = _peak_gib()
    packed_rate = _rate(lambda b: graph_forward(net, b), images, batch)
    print(f"  torch float32: {torch_rate:.2f} images/s in batches of {args.torch_batch} "
          f"(peak RSS so far {torch_peak:.2f} GiB)")
    print(f"  packed engine: {packed_rate:.2f} images/s = {packed_rate / torch_rate:.2f}x "
          f"torch (peak RSS so far {_peak_gib():.2f} GiB)")
    print(f"    in batches of {batch} images; time per image of each operation:")
    for key, seconds in _node_times(net, images[:batch]).items():
        print(f"    {key:24s} {1e3 * seconds:8.2f} ms/image")
    draw = _draw_seconds(net, images[:args.time_images], batch, args.draw_images)
    grid = draw * GRID[0] * GRID[1] * GRID[2] / args.draw_images
    print(f"  one draw at BER 1e-3 over {args.draw_images} images: {draw:.1f} s "
          f"(projected from {args.time_images})")
    print(f"  paper's grid ({GRID[0]} BERs x {GRID[1]} draws x {GRID[2]} images): "
          f"{grid / 3600:.1f} h = {grid / 86400:.2f} days on this machine")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["alexnet-bnn", "resnet18-bnn"])
    parser.add_argument("--images", type=int, default=64, help="images per speed test")
    parser.add_argument("--batch", type=int, default=0,
                        help="images per batch (0: the packed network's own batch size)")
    parser.add_argument("--torch-batch", type=int, default=16)
    parser.add_argument("--draw-images", type=int, default=1000)
    parser.add_argument("--time-images", type=int, default=64,
                        help="images actually run for the draw time")
    args = parser.parse_args()
    torch.set_num_threads(cores())
    model_name, flags = cpu_model_and_flags()
    print(f"machine: {model_name}, {cores()} cores, torch {torch.__version__} "
          f"({torch.get_num_threads()} threads), vpopcntdq: {'avx512_vpopcntdq' in flags}")
    images = np.random.default_rng(0).integers(0, 256, (args.images, 224, 224, 3),
                                               dtype=np.uint8)
    for name in args.models:
        _measure(name, images, args)


if __name__ == "__main__":
    main()
