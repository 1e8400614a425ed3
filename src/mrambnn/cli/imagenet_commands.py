"""The ImageNet-scale subcommands: ``import --format torch-graph`` (any-topology torch BNN,
e.g. ``alexnet-bnn`` / ``resnet18-bnn``, into a graph network file) and ``topk`` (top-1 and
top-5 vs BER, on Tiny ImageNet or ILSVRC2012 validation images streamed in chunks)."""

import argparse
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np

from mrambnn.datasets import load_test_set
from mrambnn.datasets.imagenet_val import ImageNetValidation
from mrambnn.engine.graph import GraphNet
from mrambnn.engine.graph_serialize import load_network, save_graph_net
from mrambnn.experiments.outputs import check_writable
from mrambnn.experiments.topk_sweep import TopKConfig, run_topk_stream, run_topk_sweep
from mrambnn.models import SHIPPED_MODELS, resolve_model_path
from mrambnn.report.formatting import percent_interval

__all__ = ["cmd_topk", "import_graph", "save_graph"]


def import_graph(args: argparse.Namespace, metadata: dict[str, Any],
                 factory: Any) -> GraphNet:
    """A torch module of any topology (``--arch``: alexnet-bnn, resnet18-bnn or
    MODULE:FACTORY), its ``state_dict`` loaded from ``args.source`` when given (weights
    only, never unpickled), exported to a `GraphNet`."""
    try:
        from mrambnn.nn.graph_export import export_graph
        from mrambnn.nn.imagenet_models import IMAGENET_MODELS, build_imagenet_model
        from mrambnn.nn.imagenet_models import input_levels as model_levels
        from mrambnn.nn.importer import load_state_dict_into
    except ImportError as error:
        raise ValueError("torch import needs torch: pip install torch==2.13.0") from error
    if args.arch in IMAGENET_MODELS:
        model = build_imagenet_model(args.arch, args.classes)
        levels = model_levels(model)
    else:
        model = factory()
        scale = Fraction(1, 255) if args.input_scale is None else Fraction(args.input_scale)
        pixels = np.arange(256) - args.input_offset
        levels = (np.tile(pixels, (3, 1)).astype(np.int16) if scale == 1  # (p - o) * n / d
                  else np.tile(pixels * scale.numerator / scale.denominator, (3, 1)))
    shape = args.input_shape or (224, 224, 3)
    if str(args.source) != "-":
        model = load_state_dict_into(args.source, model)
    else:
        metadata["weights"] = "random initialisation (no state_dict given)"
    if levels.shape[0] != shape[2]:
        levels = np.resize(levels, (shape[2], 256)).astype(levels.dtype)
    metadata.update(architecture=args.arch)
    return export_graph(model.double(), input_shape=shape, input_levels=levels,
                        metadata=metadata)


def save_graph(net: GraphNet, out: Path) -> None:
    """Write the graph network and print where its weights are stored."""
    save_graph_net(net, out)
    rows = net.storage()
    mram = sum(r.weights for r in rows if r.storage == "mram")
    sram = sum(r.weights for r in rows if r.storage == "sram")
    print(f"{len(net.nodes)} operations; {mram:,} binary weights in the MRAM "
          f"({len(net.binary_nodes)} layers), {sram:,} real values error-free (SRAM)")
    print(f"-> {out}")


def cmd_topk(args: argparse.Namespace) -> None:
    out = Path(args.out)
    if out.suffix != ".json":
        raise ValueError(f"{out}: the output must end in .json")
    check_writable(out.parent)
    path = resolve_model_path(args.model) if args.model in SHIPPED_MODELS else Path(args.model)
    net = load_network(path)
    config = TopKConfig(bers=tuple(args.bers), n_draws=args.draws, seed=args.seed,
                        batch_size=args.batch)
    if args.imagenet_val is not None:
        source = ImageNetValidation(args.imagenet_val, args.ground_truth)
        print(f"ILSVRC2012 validation: {len(source)} images, streamed {args.chunk} at a time")
        result = run_topk_stream(net, source, config, out=out, chunk=args.chunk,
                                 stop=args.images)
    else:
        dataset = args.dataset or net.metadata.get("dataset")
        if dataset is None:
            raise ValueError("give --dataset or --imagenet-val (the model names no data set)")
        data = load_test_set(dataset, args.data_dir)
        images, labels = data.x_test[:args.images], data.y_test[:args.images]
        result = run_topk_sweep(net, images, labels, config, out=out)
    print(f"{result.n_images} images, {config.n_draws} draws per BER > 0")
    print("BER        top-1 (%)  95 % CI            top-5 (%)  95 % CI")
    for point in result.points:
        one, five = point.summary("top1"), point.summary("top5")
        print(f"{point.ber:<10g} {100 * one.mean:8.2f}  "
              f"{percent_interval(one.low, one.high):17s}  {100 * five.mean:8.2f}  "
              f"{percent_interval(five.low, five.high)}")
    print(f"-> {out}", file=sys.stderr)
