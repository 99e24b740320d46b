"""``edgeport check`` / ``edgeport fit`` end to end, and their bad-input lines."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edgeport.cli.main import app

pytest.importorskip("onnx")


def _big_gemm(path: Path) -> Path:
    """A float model whose 1 MB of weights cannot fit a 512 KB-flash Cortex-M4."""
    import numpy as np
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    w = numpy_helper.from_array(np.random.default_rng(0).standard_normal((1024, 256)).astype(np.float32), "w")
    graph = helper.make_graph([helper.make_node("Gemm", ["x", "w"], ["y"])], "big",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1024])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 256])], [w])
    onnx.save_model(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10), str(path))
    return path


def test_check_one_table_across_targets(digits_onnx, store_path: Path):
    res = CliRunner().invoke(app, ["check", str(digits_onnx.path), "--target", "pixel-8,iphone-15-pro,cortex-m7",
                                   "--json"])
    assert res.exit_code == 0, res.output
    rows = {r["target"]: r for r in json.loads(res.output)["data"]["targets"]}
    assert set(rows) == {"pixel-8", "iphone-15-pro", "stm32h743"}
    pixel = rows["pixel-8"]["compat"]
    # dynamic batch: NNAPI and the GPU delegate reject it, XNNPACK runs it (slower)
    assert pixel["per_path"] == {"xnnpack": 11} and pixel["dynamic_slow_nodes"] == 11
    assert rows["stm32h743"]["compat"]["runs"] is False  # TFLite Micro needs static shapes
    assert rows["pixel-8"]["fit"]["fits"] is True
    assert all(r["compat"]["est_latency_ms"] > 0 for r in rows.values())
    text = CliRunner().invoke(app, ["check", str(digits_onnx.path), "-t", "pixel-8"])
    assert text.exit_code == 0 and "estimate" in text.output


def test_fit_fits_and_does_not_fit(digits_onnx, tmp_path: Path, store_path: Path):
    ok = CliRunner().invoke(app, ["fit", str(digits_onnx.path), "--device", "stm32h743", "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.output)["data"]
    assert data["fits"] and data["ram_margin_bytes"] > 0 and data["estimate"]["dynamic_dims"] == ["input:0"]
    big = _big_gemm(tmp_path / "big.onnx")
    res = CliRunner().invoke(app, ["fit", str(big), "--device", "cortex-m4"])
    assert res.exit_code == 1
    assert "does not fit on stm32f446" in res.output and "quantise weights to int8" in res.output


def test_bad_input_lines(digits_pt2, digits_onnx, store_path: Path):
    unknown = CliRunner().invoke(app, ["check", str(digits_onnx.path), "--target", "pixel-9"])
    assert unknown.exit_code == 2 and "unknown target 'pixel-9'" in unknown.output and "pixel-8" in unknown.output
    fmt = CliRunner().invoke(app, ["fit", str(digits_pt2.path), "--device", "cortex-m7"])
    assert fmt.exit_code == 2 and "cover onnx, tflite models" in fmt.output
