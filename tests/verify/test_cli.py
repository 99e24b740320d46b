"""``edgeport verify`` and ``edgeport fidelity`` through the real CLI app."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from edgeport.cli.main import app


def _run(*args: str):  # noqa: ANN202
    return CliRunner().invoke(app, list(args))


def test_verify_faithful_conversion_exits_0(digits_pt2, digits_onnx, store_path):
    res = _run("verify", str(digits_pt2.path), str(digits_onnx.path), "--data", "digits", "--localize")
    assert res.exit_code == 0, res.output
    assert "PASS" in res.output and "error growth along the test graph" in res.output
    assert "all " in res.output and "within tolerance" in res.output
    from edgeport.store import Store

    assert store_path.exists() and Store(store_path)


def test_verify_planted_fault_exits_1_and_names_the_node(digits_onnx, planted, second_conv, store_path):
    res = _run("verify", str(digits_onnx.path), str(planted.perturbed), "--data", "digits", "--localize", "--json")
    assert res.exit_code == 1
    doc = json.loads(res.stdout[: res.stdout.rindex("}") + 1])
    assert doc["schema"] == "edgeport/verification" and doc["data"]["passed"] is False
    loc = doc["data"]["localization"]
    assert loc["first_divergent"]["test_node"] == second_conv
    assert loc["series"]["snr_db"] and len(loc["series"]["label"]) == len(loc["layers"])
    assert "VerificationFailed" in res.output


def test_verify_overrides_change_the_verdict(digits_onnx, planted, store_path):
    args = ["verify", str(digits_onnx.path), str(planted.perturbed), "--data", "digits"]
    assert _run(*args).exit_code == 1
    loose = _run(*args, "--atol", "10", "--min-cosine", "0.9", "--min-top1", "0.95", "--json")
    assert loose.exit_code == 0, loose.output
    tol = json.loads(loose.stdout)["data"]["outputs"][0]["tolerance"]
    assert (tol["atol"], tol["min_cosine"], tol["min_top1_agreement"]) == (10.0, 0.9, 0.95)


def test_verify_prints_the_alignment(digits_onnx, planted, store_path):
    res = _run("verify", str(digits_onnx.path), str(planted.nhwc), "--data", "digits")
    assert res.exit_code == 0, res.output
    assert "alignment applied" in res.output and "(1, 8, 8) → (8, 8, 1)" in res.output


def test_fidelity_matrix_and_fail_on_divergence(digits_pt2, digits_onnx, planted, store_path):
    args = ["fidelity", str(digits_pt2.path), str(digits_onnx.path), str(planted.broken_scale), "--data", "digits"]
    res = _run(*args)
    assert res.exit_code == 0, res.output
    assert "fidelity matrix" in res.output and "broken_scale.onnx" in res.output and "FAIL" in res.output
    strict = _run(*args, "--fail-on-divergence", "--localize")
    assert strict.exit_code == 1 and "1 of 2 artifacts outside tolerance: broken_scale.onnx" in strict.output
    assert "↳ first divergent node" in strict.output


def test_verify_missing_model_is_a_one_line_error(digits_onnx, tmp_path, store_path):
    res = _run("verify", str(digits_onnx.path), str(tmp_path / "nope.onnx"), "--data", "digits")
    assert res.exit_code == 2 and "error:" in res.output and "Traceback" not in res.output


def test_sensitivity_command(digits_onnx, planted, second_conv, store_path):
    res = _run("sensitivity", str(digits_onnx.path), "--data", "digits", "--quantized", str(planted.broken_scale),
               "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["schema"] == "edgeport/sensitivity" and doc["data"]["layers"][0]["node"] == second_conv
