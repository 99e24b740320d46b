"""``edgeport quantize`` end to end through the CLI."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edgeport.cli.main import app


def test_cli_quantize_json(tmp_path, digits_onnx, store_path):
    out = tmp_path / "q.onnx"
    res = CliRunner().invoke(app, ["quantize", str(digits_onnx.path), "--precision", "int8", "--data", "digits",
                                   "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["schema"] == "edgeport/quantize"
    data = doc["data"]
    assert data["precision"] == "int8" and data["stack"] == "ort" and out.exists()
    assert data["accuracy_drop"] <= 0.01 and data["size_bytes"] < data["float_size_bytes"]
    assert data["latency"]["median_ms"] > 0 and data["float_latency"]["median_ms"] > 0
    assert data["artifact"]["step"]["name"] == "onnx-quantize-static"


def test_cli_negative_budget_is_a_usage_error(tmp_path, digits_onnx, store_path):
    res = CliRunner().invoke(app, ["quantize", str(digits_onnx.path), "--data", "digits", "-o",
                                   str(tmp_path / "b.onnx"), "--max-accuracy-drop", "-1%"])
    assert res.exit_code == 2 and "budget" in res.output  # a negative budget is a usage error


def test_cli_rejects_wrong_stack(tmp_path, digits_onnx, store_path):
    res = CliRunner().invoke(app, ["quantize", str(digits_onnx.path), "--data", "digits", "--stack", "nope"])
    assert res.exit_code == 2 and "unknown stack" in res.output


def test_cli_unmet_budget_prints_best_and_exits_1(tmp_path, digits_onnx, store_path):
    out = tmp_path / "b.onnx"
    res = CliRunner().invoke(app, ["quantize", str(digits_onnx.path), "--data", "digits", "-o", str(out),
                                   "--max-accuracy-drop", "0%", "--max-float-layers", "1",
                                   "--option", "per_channel=false", "--option", "calibration=percentile",
                                   "--option", "percentile=90"])
    assert res.exit_code == 1, res.output
    assert "NOT met" in res.output and "BudgetNotMet" in res.output
    assert "0 float layer(s)" in res.output and "1 float layer(s)" in res.output  # both configurations tried
    assert out.exists()
