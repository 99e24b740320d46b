"""Preparing ONNX models for a backend: the user's shapes, constant inputs baked in, constant ``If`` folded.

A hand-made model (onnx.helper, IR 10) shaped like silero-vad: a rank-0 integer input an ``If``
branches on, and dynamic dims. Every prepared model is run with ONNX Runtime and compared with the
original on the same inputs. Real models: ``tests/realmodels/test_convert_prepared.py``.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from edgeport import load_artifact
from edgeport.errors import ConfigError

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxslim")

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from edgeport.convert._onnx_prepare import prepare_for, prepare_onnx, unknown_dims_error  # noqa: E402


def _branch(name: str, op: str, const: float) -> object:
    out = helper.make_tensor_value_info(f"{name}_y", TensorProto.FLOAT, None)
    c = helper.make_node("Constant", [], [f"{name}_c"], value=numpy_helper.from_array(np.float32(const)))
    return helper.make_graph([c, helper.make_node(op, ["x", f"{name}_c"], [f"{name}_y"])], name, [], [out])


def _if_model(path: Path, mode_shape: list[int] | None = None) -> Path:
    """y = x * 2 when mode == 1 else x + 1; x is [N, W] (both dynamic), mode a rank-0 int64 (or ``mode_shape``)."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", "W"])
    mode = helper.make_tensor_value_info("mode", TensorProto.INT64, mode_shape or [])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["N", "W"])
    one = numpy_helper.from_array(np.array(1, dtype=np.int64), "one")
    nodes = [helper.make_node("Equal", ["mode", "one"], ["eq"]),
             helper.make_node("Squeeze", ["eq"], ["cond"]),
             helper.make_node("If", ["cond"], ["y"], then_branch=_branch("then", "Mul", 2.0),
                              else_branch=_branch("else", "Add", 1.0))]
    graph = helper.make_graph(nodes, "branchy", [x, mode], [y], initializer=[one])
    onnx.save(helper.make_model(graph, ir_version=10, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return path


def _run(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    names = {i.name for i in sess.get_inputs()}
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, {k: v for k, v in feeds.items() if k in names})))


def _with_plan(path: Path, shapes: dict[str, tuple[int, ...]], values: dict[str, object]):  # noqa: ANN202
    """The artifact as the input plan hands it to a converter: shapes concrete, constant values in metadata."""
    art = load_artifact(path)
    inputs = tuple(replace(s, shape=shapes[s.name]) if s.name in shapes else s for s in art.inputs)
    return replace(art, inputs=inputs, metadata={**art.metadata, "input_values": values})


@pytest.mark.parametrize("mode", [1, 0])
def test_constant_condition_is_baked_and_the_if_folded(tmp_path: Path, mode: int) -> None:
    src = _if_model(tmp_path / "branchy.onnx")
    original = src.read_bytes()
    stand_in, meta = prepare_for(_with_plan(src, {"x": (1, 5)}, {"mode": mode}), tmp_path / "p", backend="test")
    prepared = onnx.load(str(stand_in.path))
    assert [i.name for i in prepared.graph.input] == ["x"]  # mode is inside the model now
    assert "If" not in {n.op_type for n in prepared.graph.node}
    assert [(s.name, s.shape) for s in stand_in.inputs] == [("x", (1, 5))]
    assert meta["baked_inputs"] == {"mode": mode}
    assert any("folded 1 of 1 If" in n for n in meta["prepared"]), meta
    assert any("x=1x5" in n for n in meta["prepared"]) and any("mode=" in n for n in meta["prepared"])
    feeds = {"x": np.random.default_rng(0).standard_normal((1, 5)).astype(np.float32),
             "mode": np.array(mode, dtype=np.int64)}
    want = _run(src, feeds)["y"]
    np.testing.assert_array_equal(_run(stand_in.path, feeds)["y"], want)
    np.testing.assert_allclose(want, feeds["x"] * 2 if mode == 1 else feeds["x"] + 1)
    assert src.read_bytes() == original  # the source file is never rewritten


def test_without_a_value_the_if_stays_and_the_input_too(tmp_path: Path) -> None:
    src = _if_model(tmp_path / "branchy.onnx")
    prepared = prepare_onnx(src, load_artifact(src).inputs, tmp_path / "p", batch=1)
    model = onnx.load(str(prepared.path))
    assert {i.name for i in model.graph.input} == {"x", "mode"} and prepared.baked == {}
    assert "If" in {n.op_type for n in model.graph.node}
    assert any("1 If node(s) remain" in n for n in prepared.notes), prepared.notes
    dims = [d.dim_value or d.dim_param for d in model.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [1, "W"]  # the symbolic batch became 1, the other dim stays symbolic


def test_a_value_outside_the_inputs_dtype_is_refused(tmp_path: Path) -> None:
    src = _if_model(tmp_path / "branchy.onnx")
    with pytest.raises(ConfigError) as info:
        prepare_for(_with_plan(src, {"x": (1, 5)}, {"mode": 1.5}), tmp_path, backend="test")
    assert "'mode'" in str(info.value) and "int64" in str(info.value)


def test_a_data_tensor_value_stays_an_input(tmp_path: Path) -> None:
    """A float (or large) value is data the caller feeds, not configuration: it is not baked in."""
    src = _if_model(tmp_path / "branchy.onnx")
    stand_in, meta = prepare_for(_with_plan(src, {"x": (1, 5)}, {"x": np.zeros((1, 5)).tolist(), "mode": 0}),
                                 tmp_path, backend="test")
    assert [s.name for s in stand_in.inputs] == ["x"] and meta["baked_inputs"] == {"mode": 0}


def test_unknown_dims_name_the_input_and_shape_flag(tmp_path: Path) -> None:
    src = _if_model(tmp_path / "branchy.onnx")
    with pytest.raises(ConfigError) as info:
        prepare_for(load_artifact(src), tmp_path, backend="onnx2tf", batch=1, static=True)
    text = str(info.value)
    assert "onnx2tf needs fixed input shapes" in text and "x [N, W]" in text and "--shape x=1xN" in text
    assert "\n" not in text
    # a dynamic batch alone is not an unknown dim: it becomes the compiled batch
    assert unknown_dims_error(tuple(replace(s, shape=("N", 5)) for s in load_artifact(src).inputs[:1]), "t") is None


def test_openvino_conversion_bakes_the_value_and_verification_feeds_it(tmp_path: Path) -> None:
    """Through the isolated child and verification: the IR has no ``mode`` input; the ONNX source gets mode=1."""
    pytest.importorskip("openvino")
    from edgeport.convert.api import convert
    from edgeport.core.inputs import InputPlan

    src = _if_model(tmp_path / "branchy.onnx", mode_shape=[1])
    planned = load_artifact(src).with_inputs(InputPlan.parse(shapes=["x=1x5"], inputs=["mode=1"]))
    result = convert(planned, "openvino", out=tmp_path / "b.xml")
    assert [s.name for s in result.artifact.inputs] == ["x"]
    assert result.artifact.metadata["baked_inputs"] == {"mode": [1]}
    assert result.artifact.step.metrics["prepared"][0] == "baked constant input(s) mode=[1]"
    v = result.verification
    assert v is not None and v.passed and v.outputs[0].max_abs < 1e-6, v.failures()
