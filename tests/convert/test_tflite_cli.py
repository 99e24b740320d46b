"""``edgeport convert --to tflite``, ``bench`` and ``profile`` on a ``.tflite`` through typer's CliRunner."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgeport.cli.main import app

pytest.importorskip("litert_torch")
pytest.importorskip("ai_edge_litert")


def payload(result) -> dict:  # noqa: ANN001
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_cli_convert_to_tflite_then_profile_and_bench(store_path, digits_pt2, tmp_path):
    out = tmp_path / "digits.tflite"
    conv = payload(CliRunner().invoke(app, ["convert", str(digits_pt2.path), "--to", "tflite", "-o", str(out),
                                            "--data", "digits", "--json"]))["data"]
    assert out.exists()
    assert conv["path_taken"] == ["torch-export", "tflite"] and conv["converters"] == ["torch-to-tflite"]
    assert conv["verification"]["passed"] is True and conv["verification"]["samples"] == 360

    prof = payload(CliRunner().invoke(app, ["profile", str(out), "--json"]))["data"]
    assert prof["format"] == "tflite" and prof["macs"] == 484_992  # same MACs as the model's ONNX export

    bench = payload(CliRunner().invoke(app, ["bench", str(out), "--threads", "1", "--runs", "20", "--warmup", "3",
                                             "--data", "digits", "--json"]))["data"]
    (row,) = bench["rows"]
    assert row["runtime"] == "litert" and row["runs"] == 20 and row["inputs"] == "dataset:digits"
