"""The precision read from a model file when its lineage does not say (what verification then judges by).

Tiny models written by hand (ONNX) or converted by TensorFlow Lite's own converter, one per precision.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeport.verify.precision import infer_precision
from edgeport.core.artifact import load_artifact
from edgeport.core.precision import Precision

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402


def _save(path: Path, nodes: list, inits: list, opset: int = 17) -> Path:  # noqa: ANN001
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])
    graph = helper.make_graph(nodes, "g", [x], [y], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=10)
    onnx.save(model, str(path))
    return path


def _qdq(path: Path, zero_point_type: int, opset: int) -> Path:
    scale = helper.make_tensor("s", TensorProto.FLOAT, [], [0.1])
    zero = helper.make_tensor("z", zero_point_type, [], [0])
    nodes = [helper.make_node("QuantizeLinear", ["x", "s", "z"], ["q"]),
             helper.make_node("DequantizeLinear", ["q", "s", "z"], ["y"])]
    return _save(path, nodes, [scale, zero], opset)


def _weights(path: Path, data_type: int) -> Path:
    w = helper.make_tensor("w", data_type, [1, 4], [0, 0, 0, 0] if data_type == TensorProto.BFLOAT16
                           else np.ones(4, dtype=np.float16 if data_type == TensorProto.FLOAT16 else np.float32))
    nodes = [helper.make_node("Cast", ["w"], ["wf"], to=TensorProto.FLOAT), helper.make_node("Add", ["x", "wf"], ["y"])]
    return _save(path, nodes, [w])


def test_onnx_models_say_their_precision(tmp_path: Path) -> None:
    made = {
        Precision.FP32: _weights(tmp_path / "fp32.onnx", TensorProto.FLOAT),
        Precision.FP16: _weights(tmp_path / "fp16.onnx", TensorProto.FLOAT16),
        Precision.BF16: _weights(tmp_path / "bf16.onnx", TensorProto.BFLOAT16),
        Precision.INT8: _qdq(tmp_path / "int8.onnx", TensorProto.INT8, 17),
        Precision.INT16X8: _qdq(tmp_path / "int16x8.onnx", TensorProto.INT16, 21),
        Precision.INT8_DYNAMIC: _save(tmp_path / "dynamic.onnx", [
            helper.make_node("DynamicQuantizeLinear", ["x"], ["q", "qs", "qz"]),
            helper.make_node("DequantizeLinear", ["q", "qs", "qz"], ["y"])], []),
    }
    found = {p: infer_precision(load_artifact(path)) for p, path in made.items()}
    assert found == {p: p for p in made}


def test_a_truncated_onnx_file_reads_as_fp32_and_fails_when_run(tmp_path: Path) -> None:
    good = _qdq(tmp_path / "int8.onnx", TensorProto.INT8, 17)
    art = load_artifact(good)
    good.write_bytes(good.read_bytes()[:40])
    assert infer_precision(art) is Precision.FP32


@pytest.mark.slow
def test_tflite_models_say_their_precision(tmp_path: Path) -> None:
    tf = pytest.importorskip("tensorflow")
    rng = np.random.default_rng(0)
    w = tf.constant(rng.normal(size=(64, 64)).astype("float32"))  # large enough for TFLite to quantise

    class Dense(tf.Module):
        @tf.function(input_signature=[tf.TensorSpec([1, 64], tf.float32)])
        def f(self, x):  # noqa: ANN001, ANN202
            return tf.nn.relu(tf.matmul(x, w))

    module = Dense()

    def representative():  # noqa: ANN202
        for _ in range(8):
            yield [rng.normal(size=(1, 64)).astype("float32")]

    found = {}
    for precision in Precision:
        if precision is Precision.BF16:
            continue  # the TFLite converter has no bf16 output
        conv = tf.lite.TFLiteConverter.from_concrete_functions([module.f.get_concrete_function()], module)
        if precision is not Precision.FP32:
            conv.optimizations = [tf.lite.Optimize.DEFAULT]
        if precision is Precision.FP16:
            conv.target_spec.supported_types = [tf.float16]
        if precision in (Precision.INT8, Precision.INT16X8):
            conv.representative_dataset = representative
        if precision is Precision.INT16X8:
            ops = tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8
            conv.target_spec.supported_ops = [ops]
        path = tmp_path / f"{precision.value}.tflite"
        path.write_bytes(conv.convert())
        art = load_artifact(path)
        found[precision] = infer_precision(art)
    assert found == {p: p for p in found}
