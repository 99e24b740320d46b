"""``load_graph``, the one graph loader: what it accepts, what it caches, when it reads again, its errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from edgeport.core.artifact import Artifact  # noqa: E402
from edgeport.core.formats import Format  # noqa: E402
from edgeport.errors import ModelFileError, UnsupportedError  # noqa: E402
from edgeport.graph.load import load_graph  # noqa: E402


def _relu_model(width: int, op: str = "Relu") -> onnx.ModelProto:
    graph = helper.make_graph([helper.make_node(op, ["x"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, width])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, width])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=10)


def _save(model: onnx.ModelProto, path: Path) -> Path:
    onnx.save_model(model, str(path))
    return path


def test_path_artifact_proto_and_graph_give_the_same_graph(tmp_path: Path) -> None:
    model = _relu_model(4)
    path = _save(model, tmp_path / "m.onnx")
    by_path = load_graph(path)
    assert [n.op_type for n in by_path.nodes] == ["Relu"] and by_path.tensors["x"].shape == (1, 4)
    assert load_graph(str(path)) is by_path  # one read per file and process
    assert load_graph(Artifact(path=path, format=Format.ONNX, inputs=(), outputs=())) is by_path
    assert load_graph(by_path) is by_path
    from_proto = load_graph(model)
    assert [n.op_type for n in from_proto.nodes] == ["Relu"] and from_proto is not by_path


def test_a_replaced_file_is_read_again(tmp_path: Path) -> None:
    path = _save(_relu_model(4), tmp_path / "m.onnx")
    first = load_graph(path)
    new = _save(_relu_model(8, "Sigmoid"), tmp_path / "new.onnx")
    os.replace(new, path)  # how edgeport itself writes files
    second = load_graph(path)
    assert second is not first
    assert [n.op_type for n in second.nodes] == ["Sigmoid"] and second.tensors["x"].shape == (1, 8)


def test_missing_file_and_unanalysed_format_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such file"):
        load_graph(tmp_path / "nope.onnx")
    with pytest.raises(ModelFileError, match="no such file"):
        load_graph(Artifact(path=tmp_path / "nope.onnx", format=Format.ONNX, inputs=(), outputs=()))
    program = tmp_path / "m.pt2"
    program.write_bytes(b"PK\x03\x04")
    with pytest.raises(UnsupportedError, match="cover onnx, tflite models, not") as err:
        load_graph(Artifact(path=program, format=Format.TORCH_EXPORT, inputs=(), outputs=()))
    assert "edgeport convert" in str(err.value.fix)
