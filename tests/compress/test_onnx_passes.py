"""ONNX Runtime passes on the real digits model: each result is checked, measured on the test
split against its float parent, and carries its lineage."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from edgeport.compress.measure import accuracy_on
from edgeport.core.formats import Format
from edgeport.errors import ConfigError, UnsupportedError
from edgeport.passes import PASSES

# (pass, options, max accuracy drop on the 360-sample test split, max size vs fp32)
CASES = [
    ("onnx-fp16", {}, 0.005, 0.60),
    ("onnx-quantize-dynamic", {}, 0.01, 0.40),
    ("onnx-quantize-static", {}, 0.01, 0.40),  # QDQ, per-channel, MinMax
    ("onnx-quantize-static", {"quant_format": "qoperator"}, 0.01, 0.40),
    ("onnx-quantize-static", {"calibration": "entropy", "per_channel": False}, 0.02, 0.40),
    ("onnx-quantize-static", {"calibration": "percentile"}, 0.02, 0.40),
    ("onnx-quantize-static", {"activation_type": "uint8", "weight_type": "uint8"}, 0.02, 0.40),
    ("onnx-quantize-static", {"activation_type": "int16"}, 0.01, 0.40),  # int16x8
]


@pytest.mark.parametrize(("name", "options", "max_drop", "max_size"), CASES,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in o.items()) or 'default'}" for n, o, _, _ in CASES])
def test_pass_result_is_measured_with_lineage(tmp_path, digits_onnx, digits_data, name, options, max_drop, max_size):
    result = PASSES.get(name)().apply(digits_onnx, tmp_path / "out.onnx", options, digits_data)
    assert result.path.exists() and result.format is Format.ONNX
    assert result.parent is digits_onnx
    assert result.step is not None and result.step.kind == "pass" and result.step.name == name
    for key, value in options.items():
        assert result.step.options[key] == value
    m = result.step.metrics
    assert m["split"] == "test" and m["samples"] == 360
    # the recorded numbers are the model's real numbers
    assert m["accuracy"] == pytest.approx(accuracy_on(result, digits_data))
    assert m["parent_accuracy"] == pytest.approx(accuracy_on(digits_onnx, digits_data))
    assert m["parent_accuracy"] > 0.95
    assert m["accuracy_drop"] <= max_drop, m
    assert m["size_bytes"] == result.size_bytes() <= max_size * digits_onnx.size_bytes()
    assert m["top1_agreement"] >= 0.97


def test_static_quantisation_writes_quantised_operators(tmp_path, digits_onnx, digits_data):
    import onnx

    qdq = PASSES.get("onnx-quantize-static")().apply(digits_onnx, tmp_path / "qdq.onnx", None, digits_data)
    qop = PASSES.get("onnx-quantize-static")().apply(digits_onnx, tmp_path / "qop.onnx",
                                                     {"quant_format": "qoperator"}, digits_data)
    qdq_ops = {n.op_type for n in onnx.load(str(qdq.path)).graph.node}
    qop_ops = {n.op_type for n in onnx.load(str(qop.path)).graph.node}
    assert {"QuantizeLinear", "DequantizeLinear", "Conv"} <= qdq_ops
    assert "QLinearConv" in qop_ops and "Conv" not in qop_ops


def test_nodes_to_exclude_stay_float(tmp_path, digits_onnx, digits_data):
    import onnx

    from edgeport.passes._onnx import load_model, quantizable_nodes
    from edgeport.passes.onnx_quantize_static import preprocess_model

    nodes = quantizable_nodes(preprocess_model(load_model(digits_onnx.path), tmp_path)[0])
    first_conv = next(n for n, op in nodes if op == "Conv")
    result = PASSES.get("onnx-quantize-static")().apply(
        digits_onnx, tmp_path / "ex.onnx", {"quant_format": "qoperator", "nodes_to_exclude": (first_conv,)},
        digits_data)
    graph = onnx.load(str(result.path)).graph
    kept = [n for n in graph.node if n.name == first_conv]
    assert kept and kept[0].op_type == "Conv"  # still a float Conv
    assert sum(n.op_type == "QLinearConv" for n in graph.node) == sum(op == "Conv" for _, op in nodes) - 1
    assert result.metadata["float_nodes"] == [first_conv]


def test_simplify_keeps_outputs(tmp_path, digits_onnx, digits_data):
    result = PASSES.get("onnx-simplify")().apply(digits_onnx, tmp_path / "slim.onnx", None, digits_data)
    assert result.step.metrics["verified"] is True
    assert result.step.metrics["accuracy_drop"] == 0
    assert result.metadata["nodes_after"] <= result.metadata["nodes_before"]


def test_pass_on_wrong_format_names_the_formats_it_applies_to(tmp_path, digits_pt2, digits_data):
    with pytest.raises(UnsupportedError, match=r"does not apply to torch-export.*applies to: onnx"):
        PASSES.get("onnx-quantize-static")().apply(digits_pt2, tmp_path / "x.onnx", None, digits_data)
    assert not (tmp_path / "x.onnx").exists()


def test_small_calibration_set_warns(tmp_path, digits_onnx, digits_data):
    small = dataclasses.replace(digits_data, splits={**digits_data.splits,
                                                     "calibration": digits_data.splits["calibration"][:20]})
    result = PASSES.get("onnx-quantize-static")().apply(digits_onnx, tmp_path / "s.onnx",
                                                        {"min_calibration_samples": 50}, small)
    assert result.metadata["calibration_samples"] == 20
    assert any("calibration set has 20 samples" in w for w in result.metadata["warnings"])
    quiet = PASSES.get("onnx-quantize-static")().apply(digits_onnx, tmp_path / "q.onnx",
                                                       {"min_calibration_samples": 10}, small)
    assert not any("calibration set" in w for w in quiet.metadata["warnings"])


def test_bad_options_are_config_errors(tmp_path, digits_onnx, digits_data):
    static = PASSES.get("onnx-quantize-static")()
    with pytest.raises(ConfigError, match="no option"):
        static.apply(digits_onnx, tmp_path / "a.onnx", {"bogus": 1}, digits_data)
    with pytest.raises(ConfigError, match="calibration 'kl'"):
        static.apply(digits_onnx, tmp_path / "b.onnx", {"calibration": "kl"}, digits_data)
    with pytest.raises(ConfigError, match="unknown node"):
        static.apply(digits_onnx, tmp_path / "c.onnx", {"nodes_to_exclude": ("nope",)}, digits_data)
    with pytest.raises(ConfigError, match="needs calibration data"):
        static.apply(digits_onnx, tmp_path / "d.onnx", None, None)
    assert not list(tmp_path.iterdir())


def test_fp16_keeps_float32_io(tmp_path, digits_onnx, digits_data):
    from edgeport.runtimes.base import open_runtime

    result = PASSES.get("onnx-fp16")().apply(digits_onnx, tmp_path / "h.onnx", None, digits_data)
    assert [s.dtype for s in result.inputs] == ["float32"]
    with open_runtime(result) as rt:
        out = rt.run(digits_data.feeds(result.inputs, 0, 4))
    assert next(iter(out.values())).dtype == np.float32
