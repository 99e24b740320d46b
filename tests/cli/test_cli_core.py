"""The core commands through typer's CliRunner: doctor, convert, bench, history, and every bad input."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from edgeport.cli.main import app

pytest.importorskip("onnxruntime")


def invoke(*args: str):
    return CliRunner().invoke(app, [str(a) for a in args])


def payload(result) -> dict:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def assert_user_error(result, code: int, *needles: str) -> str:
    """Exit ``code`` with exactly one line on stderr, no traceback."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    assert "Traceback" not in result.output
    assert lines[0].startswith("error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


# ---- doctor ------------------------------------------------------------------------------------
def test_doctor_lists_runtimes_converters_and_gpu(store_path):
    data = payload(invoke("doctor", "--json"))["data"]
    by_name = {(c["kind"], c["name"]): c for c in data["components"]}
    ort = by_name[("runtime", "onnxruntime")]
    assert ort["available"] and ort["version"] and ort["extra"] == "onnx"
    assert by_name[("converter", "torch-to-onnx")]["available"]
    gpu = [c for c in data["components"] if c["kind"] == "gpu"]
    assert {c["name"] for c in gpu} >= {"onnxruntime CUDA", "TensorRT"}
    for c in gpu:  # this machine has no GPU: reported cleanly, not as a crash
        assert c["available"] is False and c["extra"] == "gpu"

    text = invoke("doctor")
    assert text.exit_code == 0, text.output
    assert "onnxruntime" in text.output and "torch-to-onnx" in text.output
    assert "no GPU here" in text.output


# ---- convert, bench, history (one store through the flow) --------------------------------------
def test_convert_bench_history_flow(store_path, digits_pt2, digits_onnx, tmp_path):
    out = tmp_path / "out" / "digits.onnx"
    conv = payload(invoke("convert", digits_pt2.path, "--to", "onnx", "-o", out, "--data", "digits", "--json"))
    assert out.exists()
    ver = conv["data"]["verification"]
    assert ver["passed"] is True and ver["samples"] == 360
    assert conv["data"]["path_taken"] == ["torch-export", "onnx"]
    assert conv["data"]["converters"] == ["torch-to-onnx"]

    bench = payload(invoke("bench", digits_onnx.path, "--threads", "1,2", "--runs", "30", "--warmup", "3",
                           "--data", "digits", "--json"))
    rows = bench["data"]["rows"]
    assert [(r["runtime"], r["threads"], r["runs"]) for r in rows] == [("onnxruntime", 1, 30), ("onnxruntime", 2, 30)]
    for r in rows:
        lat = r["latency_ms"]
        assert 0 < lat["median"] <= lat["p99"] and lat["ci95_low"] <= lat["median"] <= lat["ci95_high"]
        assert r["throughput"] > 0 and r["load_ms"] > 0 and r["inputs"] == "dataset:digits"
        assert r["conditions"]["threads"] == r["threads"]

    runs = payload(invoke("history", "--json"))["data"]["runs"]
    assert [r["kind"] for r in runs[:2]] == ["bench", "conversion"]
    assert runs[1]["passed"] is True
    assert "onnxruntime@1" in runs[0]["summary"]
    assert [r["kind"] for r in payload(invoke("history", "--kind", "bench", "--json"))["data"]["runs"]] == ["bench"]

    shown = payload(invoke("history", "show", str(runs[0]["id"]), "--json"))
    assert shown["schema"] == "edgeport/bench" and shown["data"]["rows"][0]["runs"] == 30

    listing = invoke("history")
    assert listing.exit_code == 0 and "bench" in listing.output and "conversion" in listing.output


def test_bench_renders_table_and_conditions(store_path, digits_onnx):
    result = invoke("bench", digits_onnx.path, "--runs", "10", "--warmup", "1")
    assert result.exit_code == 0, result.output
    for needle in ("median", "p99", "items/s", "conditions:", "load", "onnxruntime", "RSS"):
        assert needle in result.output


def test_bench_a_pt2_runs_through_torch(store_path, digits_pt2):
    pytest.importorskip("torch")
    rows = payload(invoke("bench", digits_pt2.path, "--runs", "10", "--warmup", "1", "--threads", "1",
                          "--json"))["data"]["rows"]
    assert [r["runtime"] for r in rows] == ["torch"]
    assert rows[0]["inputs"].startswith("synthetic")


def test_history_show_unknown_id_is_a_user_error(store_path):
    assert_user_error(invoke("history", "show", "987654"), 2, "no run 987654")


# ---- bad inputs: exit 2, one line, nothing half-written ----------------------------------------
@pytest.fixture()
def bad_files(tmp_path: Path, digits_onnx) -> dict[str, Path]:
    notes = tmp_path / "notes.onnx"
    notes.write_text("hello, I am not a model\n")
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(digits_onnx.path.read_bytes()[:1500])
    wrong = tmp_path / "wrong.npz"
    np.savez(wrong, x=np.zeros((12, 3, 16, 16), np.float32), y=np.zeros(12, np.int64))
    return {"notes": notes, "truncated": truncated, "wrong": wrong, "missing": tmp_path / "nope.onnx"}


@pytest.mark.parametrize("command", ["bench", "convert"])
@pytest.mark.parametrize(("which", "needle"), [("missing", "no such file"), ("notes", "not a model"),
                                               ("truncated", "truncated")])
def test_bad_model_files_exit_2_with_one_line(store_path, bad_files, command, which, needle):
    args = [command, bad_files[which]] + (["--to", "onnx"] if command == "convert" else ["--runs", "1"])
    assert_user_error(invoke(*args), 2, needle)


def test_dataset_that_does_not_match_exits_2(store_path, digits_onnx, digits_pt2, bad_files, tmp_path):
    line = assert_user_error(invoke("bench", digits_onnx.path, "--data", bad_files["wrong"], "--runs", "1"), 2,
                             "DatasetError")
    assert "(3, 16, 16)" in line
    out_dir = tmp_path / "conv-out"
    assert_user_error(invoke("convert", digits_pt2.path, "--to", "onnx", "-o", out_dir / "x.onnx",
                             "--data", bad_files["wrong"]), 2, "DatasetError")
    assert not out_dir.exists() or list(out_dir.iterdir()) == []


def test_unsupported_target_format_exits_2(store_path, digits_onnx):
    assert_user_error(invoke("convert", digits_onnx.path, "--to", "tensorrt"), 2, "tensorrt")
    assert_user_error(invoke("convert", digits_onnx.path, "--to", "no-such-format"), 2, "unknown format")


def test_unknown_runtime_and_wrong_runtime_exit_2(store_path, digits_onnx):
    assert_user_error(invoke("bench", digits_onnx.path, "--runtime", "no-such-runtime"), 2, "unknown runtime")
    assert_user_error(invoke("bench", digits_onnx.path, "--runtime", "torch"), 2, "cannot run onnx")
    assert_user_error(invoke("bench", digits_onnx.path, "--threads", "one"), 2, "--threads")


def test_missing_gpu_provider_exits_3_naming_the_extra(store_path, digits_onnx):
    line = assert_user_error(invoke("bench", digits_onnx.path, "--provider", "cuda", "--runs", "1"), 3,
                             "MissingDependencyError")
    assert 'edgeport[gpu]' in line


def test_failed_convert_leaves_nothing_half_written(store_path, digits_pt2, tmp_path):
    out_dir = tmp_path / "half"
    out_dir.mkdir()
    result = invoke("convert", digits_pt2.path, "--to", "onnx", "-o", out_dir / "x.onnx", "--timeout", "0.3")
    assert result.exit_code == 1, result.output
    assert "did not finish" in result.output and "Traceback" not in result.output
    assert list(out_dir.iterdir()) == []


def test_debug_flag_shows_the_traceback(store_path, bad_files):
    result = CliRunner().invoke(app, ["--debug", "bench", str(bad_files["missing"])])
    assert result.exit_code != 0
    assert result.exception is not None and type(result.exception).__name__ == "ModelFileError"
