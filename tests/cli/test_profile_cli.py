"""``edgeport profile`` through typer's CliRunner: ONNX, .pt2, --json/--top/--by-op/--dims, bad input."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from edgeport.cli.main import app

pytest.importorskip("onnx")


def invoke(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args])


def assert_user_error(result, code: int, *needles: str) -> str:
    """Exit ``code`` with exactly one line of output, no traceback."""
    assert result.exit_code == code, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    lines = [ln for ln in result.output.strip().splitlines() if ln.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("error: ") and "Traceback" not in result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_profile_onnx_renders_summary_top_layers_and_op_types(digits_onnx, store_path) -> None:
    from edgeport.analysis.profile import profile

    expected = profile(digits_onnx.path)
    assert expected.macs > 0 and expected.params > 0
    result = invoke("profile", digits_onnx.path, "--top", "2", "--by-op")
    assert result.exit_code == 0, result.output
    out = result.output
    assert "parameters" in out and f"{expected.params:,}" in out
    assert f"{expected.macs:,}" in out
    assert "top 2 layers by MACs" in out and "per op type" in out
    for op in (o.op_type for o in expected.op_types if o.macs):
        assert op in out
    assert "saved as run" in out and store_path.exists()


def test_profile_json_prints_the_envelope_and_stores_it(digits_onnx, store_path) -> None:
    from edgeport.analysis.profile import profile

    result = invoke("profile", digits_onnx.path, "--json", "--dims", "batch=8")
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["schema"] == "edgeport/profile" and isinstance(doc["run_id"], int)
    data = doc["data"]
    batch1 = profile(digits_onnx.path)
    assert data["params"] == batch1.params
    assert data["macs"] == 8 * batch1.macs  # the batch dim is symbolic: MACs scale with it
    assert data["assumed_dims"] == {"batch": 8}
    assert data["symbolic_dims"] == ["batch"]
    assert sum(n["macs"] for n in data["nodes"]) == data["macs"]
    assert {o["op_type"] for o in data["op_types"]} >= {"Conv"}
    history = invoke("history", "--json")
    assert history.exit_code == 0, history.output
    assert "profile" in history.stdout


@pytest.mark.slow  # a child process imports torch and exports: ~20 s on a loaded 2-core machine
def test_profile_pt2_exports_to_onnx_first(digits_pt2, digits_onnx, store_path) -> None:
    from edgeport.analysis.profile import profile

    result = invoke("profile", digits_pt2.path, "--json", "--top", "0")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["data"]
    onnx_profile = profile(digits_onnx.path)
    assert data["format"] == "onnx"  # profiled through its ONNX export
    assert data["model"] == str(digits_pt2.path)
    assert data["macs"] == onnx_profile.macs and data["params"] == onnx_profile.params
    assert any("torch.onnx.export" in n for n in data["notes"])


def test_corrupt_onnx_exits_2_with_one_line(digits_onnx, tmp_path, store_path) -> None:
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(digits_onnx.path.read_bytes()[: digits_onnx.path.stat().st_size // 2])
    line = assert_user_error(invoke("profile", broken), 2, "broken.onnx", "truncated or corrupt")
    assert "re-export" in line


def test_missing_file_exits_2(tmp_path, store_path) -> None:
    assert_user_error(invoke("profile", tmp_path / "nope.onnx"), 2, "nope.onnx", "no such file")


def test_not_a_model_exits_2(tmp_path, store_path) -> None:
    text = tmp_path / "notes.onnx"
    text.write_text("hello, not a model\n")
    assert_user_error(invoke("profile", text), 2, "notes.onnx")


def test_bad_dims_option_exits_2(digits_onnx, store_path) -> None:
    assert_user_error(invoke("profile", digits_onnx.path, "--dims", "batch=zero"), 2, "--dims")
