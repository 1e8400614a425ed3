"""The subcommands about models themselves: ``import`` (a network trained elsewhere, into a
packed .npz file) and ``info`` (a per-layer summary of any model)."""

import argparse
import hashlib
import importlib.util
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

from mrambnn.cli.imagenet_commands import import_graph, save_graph
from mrambnn.datasets import DataError, load_test_set
from mrambnn.engine import PackedNet, accuracy, save_packed_net
from mrambnn.engine.graph import GraphNet
from mrambnn.engine.summary import summarize
from mrambnn.experiments.outputs import check_writable
from mrambnn.models import load_model, resolve_model_path

__all__ = ["cmd_import", "cmd_info"]


def _factory(spec: str) -> Any:
    """``package.module:factory`` or ``path/to/file.py:factory``: the callable that builds
    the untrained torch module (the user's own code, run because they name it)."""
    source, _, attribute = spec.rpartition(":")
    if source.endswith(".py"):
        path = Path(source)
        if not path.is_file():
            raise ValueError(f"--arch: {path} does not exist")
        module_spec = importlib.util.spec_from_file_location(path.stem, path)
        if module_spec is None or module_spec.loader is None:
            raise ValueError(f"--arch: cannot load {path}")
        module = importlib.util.module_from_spec(module_spec)
        module_spec.loader.exec_module(module)
        if not hasattr(module, attribute):
            raise ValueError(f"--arch: {path} defines no {attribute!r}")
        return getattr(module, attribute)
    from mrambnn.nn.importer import load_module_factory
    return load_module_factory(spec)


def _onnx_input_shape(path: Path) -> tuple[int, int, int] | None:
    """(H, W, C) from an ONNX graph's (N, C, H, W) image input, when its sizes are fixed."""
    try:
        import onnx
        graph = onnx.load(str(path)).graph
    except Exception:  # the importer reports an unreadable file itself
        return None
    weights = {t.name for t in graph.initializer}
    for value in graph.input:
        if value.name not in weights:
            dims = [d.dim_value for d in value.type.tensor_type.shape.dim]
            if len(dims) == 4 and min(dims[1:]) > 0:
                return (dims[2], dims[3], dims[1])
    return None


def _import(args: argparse.Namespace, metadata: dict[str, Any]) -> PackedNet | GraphNet:
    if args.format == "torch-graph":
        from mrambnn.nn.imagenet_models import IMAGENET_MODELS
        if args.arch is None:
            raise ValueError("--format torch-graph needs --arch (alexnet-bnn, resnet18-bnn "
                             "or MODULE:FACTORY)")
        factory = None if args.arch in IMAGENET_MODELS else _factory(args.arch)
        return import_graph(args, metadata, factory)
    if args.format == "finn":
        from mrambnn.importers.finn import TOPOLOGIES, read_finn
        if args.topology not in TOPOLOGIES:
            raise ValueError(f"unknown topology {args.topology!r}; choose one of "
                             f"{', '.join(TOPOLOGIES)}")
        net = read_finn(args.source, TOPOLOGIES[args.topology])
        net.metadata.update(metadata)
        return net
    shape = args.input_shape
    if args.input_scale is None:
        args.input_scale = 1 if args.format == "onnx" else Fraction(1, 255)
    if args.format == "onnx":
        from mrambnn.importers.onnx_graph import import_onnx
        shape = shape or _onnx_input_shape(Path(args.source))
        if shape is None:
            raise ValueError("give --input-shape H,W,C (the graph's input sizes are not fixed)")
        return import_onnx(args.source, input_shape=shape, input_scale=args.input_scale,
                           input_offset=args.input_offset, metadata=metadata)
    if shape is None or args.arch is None:
        raise ValueError("--format torch needs --arch MODULE:FACTORY and --input-shape H,W,C")
    try:
        from mrambnn.nn.importer import import_torch_state_dict
    except ImportError as error:
        raise ValueError("torch import needs torch: pip install torch==2.13.0") from error
    return import_torch_state_dict(args.source, _factory(args.arch), input_shape=shape,
                                   input_scale=args.input_scale,
                                   input_offset=args.input_offset, metadata=metadata)


def cmd_import(args: argparse.Namespace) -> None:
    out = Path(args.out)
    if out.exists() and not args.force:
        raise ValueError(f"{out} exists; give --force to replace it")
    check_writable(out.parent)
    metadata: dict[str, Any] = {"command": "mrambnn " + " ".join(sys.argv[1:]),
                                "source_format": args.format}
    if args.dataset:
        metadata["dataset"] = args.dataset
    net = _import(args, metadata)
    if isinstance(net, GraphNet):
        save_graph(net, out)
        return
    dataset = net.metadata.get("dataset")
    if dataset and not args.no_accuracy:
        try:
            data = load_test_set(dataset, args.data_dir)
        except DataError as error:
            print(f"(no test accuracy: {error})", file=sys.stderr)
        else:
            if tuple(data.image_shape) != tuple(net.input_shape):
                raise ValueError(f"the model takes {net.input_shape} images, {dataset} has "
                                 f"{data.image_shape}")
            measured = accuracy(net, data.x_test, data.y_test)
            net.metadata.update(test_accuracy=measured, n_weights=net.n_weights)
            print(f"test accuracy on {dataset} (packed engine): {100 * measured:.2f} %")
    save_packed_net(net, out)
    print(summarize(net).table())
    print(f"-> {out}")


def cmd_info(args: argparse.Namespace) -> None:
    path = resolve_model_path(args.model)
    net = load_model(args.model)
    summary = summarize(net)
    meta = net.metadata
    lines = [f"model        {args.model} ({path})",
             f"file sha256  {hashlib.sha256(path.read_bytes()).hexdigest()}",
             f"content      {net.content_sha256()}",
             f"input        {'x'.join(map(str, net.input_shape))} uint8 images; the first "
             f"layer sees {summary.input_coding}",
             f"classes      {summary.n_classes}"]
    for key in ("architecture", "dataset", "source", "importer", "seed", "command"):
        if key in meta:
            lines.append(f"{key:<12} {meta[key]}")
    if "test_accuracy" in meta:
        lines.append(f"{'accuracy':<12} {100 * float(meta['test_accuracy']):.2f} % (test set, "
                     "packed engine, when the model was made)")
    print("\n".join(lines))
    print(summary.table())
    print(f"MRAM: {summary.mram_bits:,} bits = {summary.mram_bits / 8 / 1024:.1f} KiB in "
          f"{summary.words:,} 64-bit words ({summary.weights:,} weights, "
          f"{summary.mram_bits - summary.weights:,} padding bits); "
          f"{summary.macs:,} MACs per image")
