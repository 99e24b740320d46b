"""Feeding and pairing on hand-made ONNX models run by ONNX Runtime.

The fixed-batch case is the one ddddocr's detector hit: a batch-1 network whose converted copy declares a
free batch but reshapes to ``[1, -1, 6]`` inside, so 16 stacked samples come back as one tensor.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgeport import load_artifact
from edgeport.data.datasets import Dataset
from edgeport.verify.compare import verify

onnx = pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")

WEIGHT = np.random.default_rng(1).standard_normal((1, 3, 8, 8)).astype(np.float32)


def _save(path: Path, nodes: list, inputs: list, outputs: list, inits: list) -> Path:
    from onnx import helper

    graph = helper.make_graph(nodes, "m", inputs, outputs, inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    return path


def _detector(path: Path, batch: int | str, scale: float = 1.0) -> Path:
    """x [batch,3,8,8] → 'output' = Reshape(x·W, [1,-1,6]) and 'total' = the sum of everything (no batch axis)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes = [helper.make_node("Mul", ["x", "w"], ["y"]),
             helper.make_node("Reshape", ["y", "shape"], ["output"]),
             helper.make_node("ReduceSum", ["y"], ["total"], keepdims=0)]
    inits = [numpy_helper.from_array(WEIGHT * np.float32(scale), "w"),
             numpy_helper.from_array(np.array([1, -1, 6], np.int64), "shape")]
    out_len = 32 if isinstance(batch, int) else None
    return _save(path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 8, 8])],
                 [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, out_len, 6]),
                  helper.make_tensor_value_info("total", TensorProto.FLOAT, [])], inits)


def _data(count: int) -> Dataset:
    x = np.random.default_rng(0).standard_normal((count, 3, 8, 8)).astype(np.float32)
    return Dataset(name="random", inputs={"x": x}, source="random", task="unknown")


def test_fixed_batch_model_is_fed_one_sample_at_a_time(tmp_path: Path):
    fixed = load_artifact(_detector(tmp_path / "fixed.onnx", 1))
    relaxed = load_artifact(_detector(tmp_path / "relaxed.onnx", "N"))  # free batch declared, batch 1 inside
    result = verify(fixed, relaxed, _data(16), split="all")
    assert result.passed, result.failures()
    by_name = {o.reference_name: o for o in result.outputs}
    assert by_name["output"].shape == [16, 32, 6] and by_name["total"].shape == [16]
    assert by_name["output"].max_abs == 0.0
    assert "test fed 1 sample(s) per run: its batch is free, but the other model's is fixed at 1" in result.alignment

    # with no fixed batch on either side, the lost batch axis is seen and the samples are fed one at a time
    alone = verify(relaxed, relaxed, _data(16), split="all")
    assert alone.passed and alone.outputs[0].shape == [16, 32, 6]
    assert any(line.startswith("reference output 'output' came back (1, 512, 6) for 16 samples")
               for line in alone.alignment), alone.alignment


def test_a_real_error_behind_a_fixed_batch_still_fails(tmp_path: Path):
    fixed = load_artifact(_detector(tmp_path / "fixed.onnx", 1))
    off = load_artifact(_detector(tmp_path / "off.onnx", "N", scale=1.01))
    result = verify(fixed, off, _data(16), split="all")
    assert not result.passed
    first = result.failures()[0]
    assert first.startswith("output 'output': max abs error ") and "allowed (atol 0.0001 + rtol 0.001·|ref|" in first


def test_fixed_batch_of_four_pads_the_last_batch(tmp_path: Path):
    from onnx import TensorProto, helper, numpy_helper

    def model(path: Path, batch: int | str) -> Path:
        return _save(path, [helper.make_node("Mul", ["x", "w"], ["y"])],
                     [helper.make_tensor_value_info("x", TensorProto.FLOAT, [batch, 3, 8, 8])],
                     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [batch, 3, 8, 8])],
                     [numpy_helper.from_array(WEIGHT, "w")])

    result = verify(load_artifact(model(tmp_path / "b4.onnx", 4)), load_artifact(model(tmp_path / "free.onnx", "N")),
                    _data(10), split="all")
    assert result.passed and result.outputs[0].shape == [10, 3, 8, 8]


def test_renamed_and_reordered_outputs_are_paired_by_shape(tmp_path: Path):
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(2)
    inits = [numpy_helper.from_array(rng.standard_normal((4, 40)).astype(np.float32), "w1"),
             numpy_helper.from_array(rng.standard_normal((4, 10)).astype(np.float32), "w2"),
             numpy_helper.from_array(np.array([-1, 10, 4], np.int64), "shape")]

    def model(path: Path, boxes: str, scores: str, swap: bool) -> Path:
        nodes = [helper.make_node("MatMul", ["x", "w1"], ["b"]), helper.make_node("Reshape", ["b", "shape"], [boxes]),
                 helper.make_node("MatMul", ["x", "w2"], ["s"]), helper.make_node("Sigmoid", ["s"], [scores])]
        outs = [helper.make_tensor_value_info(boxes, TensorProto.FLOAT, ["N", 10, 4]),
                helper.make_tensor_value_info(scores, TensorProto.FLOAT, ["N", 10])]
        return _save(path, nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 4])],
                     outs[::-1] if swap else outs, inits)

    ref = load_artifact(model(tmp_path / "ref.onnx", "boxes", "scores", swap=False))
    renamed = load_artifact(model(tmp_path / "renamed.onnx", "Identity_1", "Identity", swap=True))
    data = Dataset(name="random", inputs={"x": rng.standard_normal((24, 4)).astype(np.float32)}, task="unknown")
    result = verify(ref, renamed, data, split="all")
    assert result.passed, result.failures()
    assert [(o.reference_name, o.name, o.paired_by) for o in result.outputs] == [
        ("boxes", "Identity_1", "shape"), ("scores", "Identity", "shape")]
    assert "ref 'boxes' ↔ test 'Identity_1': paired by shape, the only output of shape (24, 10, 4) on both sides" \
        in result.alignment
