"""Dynamic shapes on the real digits ONNX model; ORT's mobile usability checker as a cross-check."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("onnx")
pytest.importorskip("onnxruntime")


@pytest.fixture(scope="module")
def fixed_digits(tmp_path_factory: pytest.TempPathFactory, digits_onnx, digits_data):
    from edgeport.passes import apply_pass

    return apply_pass("fix-shapes", digits_onnx, tmp_path_factory.mktemp("fixed") / "digits_b1.onnx",
                      {"dims": {"batch": 1}}, digits_data)


def test_dynamic_batch_is_found_and_rejected(digits_onnx):
    from edgeport.analysis.compat import analyze
    from edgeport.analysis.dynamic import dynamic_report

    rep = dynamic_report(digits_onnx)
    assert [(d.tensor, d.axis) for d in rep.dims] == [("input", 0)]
    assert rep.suggested_shapes == {"input": [1, 1, 8, 8]}
    assert rep.enumerated["input"][1] == [4, 1, 8, 8]
    assert "nnapi" in rep.rejected_by["pixel-8"] and "coreml-ane" in rep.rejected_by["iphone-15-pro"]
    assert "xnnpack" in rep.slowed_on["rpi5"]
    nnapi = analyze(digits_onnx, "pixel-8", paths=["nnapi"])
    assert nnapi.delegated_nodes == 0 and set(nnapi.fallback_reasons) == {"dynamic-shape"}


def test_fix_shapes_pass_then_verify(fixed_digits, digits_onnx, digits_data):
    from edgeport.analysis.compat import analyze
    from edgeport.analysis.dynamic import dynamic_report
    from edgeport.verify.compare import verify

    assert fixed_digits.inputs[0].shape == (1, 1, 8, 8)
    assert not dynamic_report(fixed_digits).dims
    assert fixed_digits.step.name == "fix-shapes" and fixed_digits.step.metrics["verified"] is True
    result = verify(digits_onnx, fixed_digits, digits_data)
    assert result.passed and result.test_accuracy is not None and result.test_accuracy > 0.95
    rep = analyze(fixed_digits, "pixel-8")
    assert rep.delegated_nodes == rep.total_nodes and rep.partitions == 1 and rep.per_path == {"nnapi": 11}
    assert analyze(fixed_digits, "iphone-15-pro").per_path == {"coreml-ane": 11}


def _unsupported_model(path: Path) -> Path:
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.ones((4, 4), np.float32), "w")
    axis = numpy_helper.from_array(np.array(1, np.int64), "axis")
    nodes = [helper.make_node("MatMul", ["x", "w"], ["a"]), helper.make_node("CumSum", ["a", "axis"], ["b"]),
             helper.make_node("Relu", ["b"], ["c"]), helper.make_node("CumSum", ["c", "axis"], ["d"]),
             helper.make_node("Sigmoid", ["d"], ["y"])]
    graph = helper.make_graph(nodes, "cumsum", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])], [w, axis])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.save_model(onnx.shape_inference.infer_shapes(model), str(path))
    return path


@pytest.mark.slow
def test_ort_checker_agrees_on_nnapi_and_coreml(fixed_digits, digits_onnx, tmp_path: Path):
    from edgeport.analysis.ort_crosscheck import ort_crosscheck

    checks = {}
    for model in (fixed_digits.path, digits_onnx.path, _unsupported_model(tmp_path / "cumsum.onnx")):
        check = checks[model.name] = ort_crosscheck(model)
        by_ep = {c.ep: c for c in check.comparisons}
        assert {"NNAPI", "CoreML NeuralNetwork", "CoreML MLProgram"} <= set(by_ep), check.raw[-2000:]
        for ep in ("NNAPI", "CoreML NeuralNetwork"):
            assert by_ep[ep].agrees, check.disagreements
        print(model.name, [(c.ep, c.ort_supported, c.ort_partitions, c.ours_supported, c.ours_partitions)
                           for c in check.comparisons], check.disagreements)
    # the model with CUMSUM: both split it into 3 partitions around the two CumSum nodes
    assert (by_ep["NNAPI"].ort_partitions, by_ep["NNAPI"].ort_supported) == (3, 3)
    # known, documented disagreement: ORT's checker demands fixed shapes for ML Program too, while
    # edgeport treats ML Program as running dynamic shapes (slower)
    dyn = checks[digits_onnx.path.name]
    assert [c.ep for c in dyn.comparisons if not c.agrees] == ["CoreML MLProgram"]
