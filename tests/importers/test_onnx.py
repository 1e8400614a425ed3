"""Binarized networks as ONNX graphs (built here with onnx.helper, in float64): plain ONNX
with Sign nodes, checked against onnxruntime, and QONNX with BipolarQuant, checked against
onnx's reference evaluator; what the importer cannot map is a one-line error."""

from fractions import Fraction

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper
from onnx.reference import ReferenceEvaluator
from onnx.reference.op_run import OpRun

from mrambnn.datasets import load_dataset
from mrambnn.engine import forward
from mrambnn.importers.onnx_graph import OnnxImportError, import_onnx

QONNX = "qonnx.custom_op.general"


class BipolarQuant(OpRun):
    """QONNX's binary quantizer: +scale where x >= 0, else -scale."""

    op_domain = QONNX

    def _run(self, x, scale):  # type: ignore[no-untyped-def]
        return (np.where(x >= 0, 1.0, -1.0) * scale,)


def _bn(prefix: str, n: int, rng: np.random.Generator, spread: float) -> tuple[list, list]:
    """A BatchNormalization node's parameter initializers and names."""
    values = {"gamma": rng.normal(0, 1, n), "beta": rng.normal(0, 0.2, n),
              "mean": rng.normal(0, spread / 4, n), "var": rng.uniform(0.5, 2, n) * spread**2}
    names = [f"{prefix}_{key}" for key in values]
    return [numpy_helper.from_array(v, f"{prefix}_{k}") for k, v in values.items()], names


def _save(nodes, initializers, shape, out_shape, path, domains=()) -> None:
    graph = helper.make_graph(
        nodes, "bnn", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, shape)],
        [helper.make_tensor_value_info("y", TensorProto.DOUBLE, out_shape)], initializers)
    opsets = [helper.make_opsetid("", 17)] + [helper.make_opsetid(d, 1) for d in domains]
    onnx.save(helper.make_model(graph, opset_imports=opsets), str(path))


def _mlp(path, rng) -> None:
    """Flatten - MatMul(Sign W) - BN - Sign - Gemm(Sign W, transB, bias) - BN - Sign -
    MatMul(Sign W) - Add(bias)."""
    w1, w2, w3 = rng.normal(size=(784, 64)), rng.normal(size=(32, 64)), rng.normal(size=(32, 10))
    bn1, names1 = _bn("bn1", 64, rng, 10.0)
    bn2, names2 = _bn("bn2", 32, rng, 8.0)
    inits = [numpy_helper.from_array(w, n) for w, n in ((w1, "w1"), (w2, "w2"), (w3, "w3"))]
    inits += bn1 + bn2 + [numpy_helper.from_array(rng.normal(0, 1, 32), "b2"),
                          numpy_helper.from_array(rng.normal(0, 1, 10), "b3")]
    nodes = [helper.make_node("Sign", [w], [w + "s"]) for w in ("w1", "w2", "w3")]
    nodes += [helper.make_node("Flatten", ["x"], ["f"], axis=1),
              helper.make_node("MatMul", ["f", "w1s"], ["a1"]),
              helper.make_node("BatchNormalization", ["a1", *names1], ["n1"]),
              helper.make_node("Sign", ["n1"], ["h1"]),
              helper.make_node("Gemm", ["h1", "w2s", "b2"], ["a2"], transB=1),
              helper.make_node("BatchNormalization", ["a2", *names2], ["n2"]),
              helper.make_node("Sign", ["n2"], ["h2"]),
              helper.make_node("MatMul", ["h2", "w3s"], ["a3"]),
              helper.make_node("Add", ["a3", "b3"], ["y"])]
    _save(nodes, inits, [None, 1, 28, 28], [None, 10], path)


def _qonnx_conv(path, rng) -> None:
    """(x - 128) / 128 - Conv(BipolarQuant W, pads 1) - MaxPool - BN - BipolarQuant -
    Conv(pads 0) - BN - BipolarQuant - MaxPool - Flatten - Gemm - BN - BipolarQuant -
    Gemm - BN - LogSoftmax."""
    one = numpy_helper.from_array(np.array(1.0), "one")
    weights = {"c1": rng.normal(size=(8, 1, 3, 3)), "c2": rng.normal(size=(8, 8, 3, 3)),
               "d1": rng.normal(size=(24, 288)), "d2": rng.normal(size=(10, 24))}
    inits = [one, numpy_helper.from_array(np.array(128.0), "c128")]
    inits += [numpy_helper.from_array(w, k) for k, w in weights.items()]
    nodes = [helper.make_node("BipolarQuant", [k, "one"], [k + "q"], domain=QONNX)
             for k in weights]
    bns = []
    for index, (n, spread) in enumerate([(8, 4.0), (8, 8.0), (24, 17.0), (10, 5.0)]):
        params, names = _bn(f"bn{index}", n, rng, spread)
        inits += params
        bns.append(names)
    nodes += [helper.make_node("Sub", ["x", "c128"], ["s"]),
              helper.make_node("Div", ["s", "c128"], ["u"]),
              helper.make_node("Conv", ["u", "c1q"], ["a1"], pads=[1, 1, 1, 1],
                               kernel_shape=[3, 3]),
              helper.make_node("MaxPool", ["a1"], ["p1"], kernel_shape=[2, 2], strides=[2, 2]),
              helper.make_node("BatchNormalization", ["p1", *bns[0]], ["n1"]),
              helper.make_node("BipolarQuant", ["n1", "one"], ["h1"], domain=QONNX),
              helper.make_node("Conv", ["h1", "c2q"], ["a2"], pads=[0, 0, 0, 0],
                               kernel_shape=[3, 3]),
              helper.make_node("BatchNormalization", ["a2", *bns[1]], ["n2"]),
              helper.make_node("BipolarQuant", ["n2", "one"], ["h2"], domain=QONNX),
              helper.make_node("MaxPool", ["h2"], ["p2"], kernel_shape=[2, 2], strides=[2, 2]),
              helper.make_node("Flatten", ["p2"], ["f"], axis=1),
              helper.make_node("Gemm", ["f", "d1q"], ["a3"], transB=1),
              helper.make_node("BatchNormalization", ["a3", *bns[2]], ["n3"]),
              helper.make_node("BipolarQuant", ["n3", "one"], ["h3"], domain=QONNX),
              helper.make_node("Gemm", ["h3", "d2q"], ["a4"], transB=1),
              helper.make_node("BatchNormalization", ["a4", *bns[3]], ["n4"]),
              helper.make_node("LogSoftmax", ["n4"], ["y"], axis=1)]
    _save(nodes, inits, [None, 1, 28, 28], [None, 10], path, domains=(QONNX,))


@pytest.fixture(scope="module")
def images() -> np.ndarray:
    return load_dataset("mnist").x_test[:1500]


def test_plain_onnx_with_sign_nodes_matches_onnxruntime(tmp_path, images) -> None:
    _mlp(tmp_path / "mlp.onnx", np.random.default_rng(0))
    net = import_onnx(tmp_path / "mlp.onnx", input_shape=(28, 28, 1),
                      input_scale=Fraction(1, 255))
    session = onnxruntime.InferenceSession(str(tmp_path / "mlp.onnx"),
                                           providers=["CPUExecutionProvider"])
    x = images.transpose(0, 3, 1, 2).astype(np.float64) / 255
    reference = session.run(None, {"x": x})[0]
    scores = forward(net, images)[0]
    np.testing.assert_array_equal(np.argmax(scores, axis=1), np.argmax(reference, axis=1))
    np.testing.assert_allclose(scores, reference, rtol=1e-9, atol=1e-9)


def test_qonnx_bipolar_conv_net_matches_the_reference_evaluator(tmp_path, images) -> None:
    _qonnx_conv(tmp_path / "cnv.onnx", np.random.default_rng(1))
    net = import_onnx(tmp_path / "cnv.onnx", input_shape=(28, 28, 1))
    assert net.layers[0].padding == 1 and net.layers[1].padding == 0
    evaluator = ReferenceEvaluator(str(tmp_path / "cnv.onnx"), new_ops=[BipolarQuant])
    x = images[:300].transpose(0, 3, 1, 2).astype(np.float64)
    reference = evaluator.run(None, {"x": x})[0]
    predictions = np.argmax(forward(net, images[:300])[0], axis=1)
    np.testing.assert_array_equal(predictions, np.argmax(reference, axis=1))
    assert len(np.unique(predictions)) > 3  # a real test: the classes differ


def test_what_cannot_be_imported_is_one_line(tmp_path) -> None:
    rng = np.random.default_rng(2)
    _mlp(tmp_path / "mlp.onnx", rng)
    model = onnx.load(str(tmp_path / "mlp.onnx"))
    relu = onnx.load(str(tmp_path / "mlp.onnx"))
    relu.graph.node[9].op_type = "Relu"  # the second Sign activation
    onnx.save(relu, str(tmp_path / "relu.onnx"))
    real = onnx.load(str(tmp_path / "mlp.onnx"))
    real.graph.node[4].input[1] = "w1"  # the first MatMul takes the latent weights
    onnx.save(real, str(tmp_path / "real.onnx"))
    (tmp_path / "cut.onnx").write_bytes((tmp_path / "mlp.onnx").read_bytes()[:500])
    (tmp_path / "text.onnx").write_text("not a model")
    assert model.graph.node[9].op_type == "Sign" and model.graph.node[4].op_type == "MatMul"
    for name, message in [("relu.onnx", "(Relu): this operator"),
                          ("real.onnx", "real-valued weights"),
                          ("cut.onnx", "is not a valid ONNX model"),
                          ("text.onnx", "is not a valid ONNX model"),
                          ("missing.onnx", "does not exist")]:
        with pytest.raises(OnnxImportError) as error:
            import_onnx(tmp_path / name, input_shape=(28, 28, 1))
        assert message in str(error.value) and "\n" not in str(error.value), str(error.value)
