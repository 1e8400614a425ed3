"""``mrambnn import --format torch-graph`` and ``mrambnn topk``: an ImageNet BNN from a
state_dict to top-1 / top-5 on ILSVRC2012-style validation files the test makes, the
graph file equal to the module it came from, and bad input as one-line errors."""

import io
import json
import subprocess
import sys

import numpy as np
import torch
from PIL import Image

from mrambnn.engine.graph import graph_forward
from mrambnn.engine.graph_serialize import load_network
from mrambnn.nn.graph_export import export_graph
from mrambnn.nn.imagenet_models import BiRealResNet18, input_levels


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "mrambnn.cli", *args], capture_output=True,
                          text=True)


def _validation_folder(root) -> None:  # type: ignore[no-untyped-def]
    rng = np.random.default_rng(0)
    lines = []
    for k in range(1, 8):
        stream = io.BytesIO()
        pixels = rng.integers(0, 256, (260 + 10 * k, 300, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(stream, format="JPEG", quality=90)
        name = f"ILSVRC2012_val_{k:08d}.JPEG"
        (root / name).write_bytes(stream.getvalue())
        lines.append(f"{name} {int(rng.integers(0, 1000))}\n")
    (root / "val.txt").write_text("".join(lines))


def test_state_dict_to_graph_file_to_streamed_topk(tmp_path) -> None:
    torch.manual_seed(0)
    model = BiRealResNet18(1000, width=0.25)
    state = tmp_path / "r18.pt"
    torch.save(model.state_dict(), state)
    # the module's own factory, at a quarter of the width
    factory = tmp_path / "quarter.py"
    factory.write_text("from mrambnn.nn.imagenet_models import BiRealResNet18\n"
                       "def build():\n    return BiRealResNet18(1000, width=0.25)\n")
    out = tmp_path / "r18.npz"
    result = _run("import", str(state), "--format", "torch-graph", "--arch",
                  f"{factory}:build", "--input-offset", "0", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "binary weights in the MRAM" in result.stdout
    net = load_network(out)
    reference = export_graph(model.double(), input_shape=(224, 224, 3),
                             input_levels=np.tile(np.arange(256) / 255.0, (3, 1)))
    assert net.content_sha256() == reference.content_sha256()
    named = tmp_path / "named.npz"
    assert _run("import", "-", "--format", "torch-graph", "--arch", "resnet18-bnn",
                "--classes", "10", "--input-shape", "64,64,3", "--out",
                str(named)).returncode == 0
    levels = load_network(named).input_levels
    np.testing.assert_allclose(levels, input_levels(BiRealResNet18()))

    folder = tmp_path / "val"
    folder.mkdir()
    _validation_folder(folder)
    report = tmp_path / "topk.json"
    result = _run("topk", str(out), "--imagenet-val", str(folder), "--bers", "0,0.01",
                  "--draws", "2", "--chunk", "3", "--out", str(report))
    assert result.returncode == 0, result.stderr
    assert "7 images, 2 draws" in result.stdout
    saved = json.loads(report.read_text())
    assert saved["kind"] == "topk_sweep" and saved["n_images"] == 7
    # the clean point against the graph engine run directly on the same decoded images
    from mrambnn.datasets.imagenet_val import ImageNetValidation
    images, labels = next(ImageNetValidation(folder).chunks(7))
    scores = graph_forward(net, images)[0]
    assert saved["points"][0]["top1"] == [float(np.mean(scores.argmax(1) == labels))]


def test_bad_graph_import_and_topk_input_are_one_line_errors(tmp_path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a state dict")
    result = _run("import", str(junk), "--format", "torch-graph", "--arch", "alexnet-bnn",
                  "--out", str(tmp_path / "a.npz"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "junk.pt" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    result = _run("topk", str(tmp_path / "missing.npz"), "--dataset", "mnist", "--out",
                  str(tmp_path / "t.json"))
    assert result.returncode == 2 and "missing.npz" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
