"""``quantize``: each precision on each installed stack, measured on the digits test split, and the
accuracy-budgeted mixed-precision search."""

from __future__ import annotations

import json

import pytest

from edgeport.compress.measure import SLOWER_MARGIN, accuracy_on
from edgeport.compress.quantize import PRECISIONS, QuantizeResult, quantize
from edgeport.compress.stacks import STACKS, converters_for, pass_point
from edgeport.errors import BudgetNotMet, ConfigError, UnsupportedError
from edgeport.report.schema import envelope

# A deliberately harsh static config (per-tensor weights, activations clipped at the 90th
# percentile) so that full int8 loses real accuracy on digits and the budget search has work to do.
HARSH = {"per_channel": False, "calibration": "percentile", "percentile": 90.0}


def _check_numbers(r: QuantizeResult, float_acc_bound: float, max_drop: float) -> None:
    assert r.split == "test"
    assert r.float_accuracy is not None and r.float_accuracy > float_acc_bound
    assert r.accuracy is not None and r.accuracy_drop == pytest.approx(r.float_accuracy - r.accuracy)
    assert r.accuracy_drop <= max_drop, r
    assert r.size_bytes == r.artifact.size_bytes() and r.size_bytes < r.float_size_bytes
    assert r.latency is not None and r.float_latency is not None and r.latency.median_ms > 0
    ratio = r.latency.median_ms / r.float_latency.median_ms
    assert r.slower_than_float == (ratio > 1 + SLOWER_MARGIN)
    assert any("SLOWER" in w for w in r.warnings) == r.slower_than_float
    step = r.artifact.step
    assert step is not None and step.metrics["accuracy_drop"] == pytest.approx(r.accuracy_drop)
    json.dumps(envelope("quantize", r))


@pytest.mark.parametrize("precision", PRECISIONS)
def test_ort_precisions(tmp_path, digits_onnx, digits_data, precision):
    r = quantize(digits_onnx, precision, digits_data, out=tmp_path / f"{precision}.onnx")
    assert r.stack == "ort" and r.artifact.parent is digits_onnx
    assert r.method == ("onnx-fp16" if precision == "fp16" else "onnx-quantize-static")
    _check_numbers(r, 0.95, 0.01)
    assert r.accuracy == pytest.approx(accuracy_on(r.artifact, digits_data))
    assert r.size_ratio < (0.6 if precision == "fp16" else 0.4)


def test_ort_int8_defaults_to_static_qdq(tmp_path, digits_onnx, digits_data):
    r = quantize(digits_onnx, "int8", digits_data, out=tmp_path / "q.onnx", measure_speed=False)
    assert r.options["quant_format"] == "qdq" and r.options["per_channel"] is True
    assert r.latency is None


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["tflite", "openvino", "executorch"])
@pytest.mark.parametrize("precision", PRECISIONS)
def test_other_stacks_when_installed(tmp_path, digits_pt2, digits_data, stack, precision):
    if not converters_for(stack, precision, digits_pt2.format) and pass_point(STACKS[stack], precision) is None:
        # a precision the stack does not offer is a clear error naming what it does offer
        with pytest.raises(UnsupportedError) as err:
            quantize(digits_pt2, precision, digits_data, out=tmp_path / "q", stack=stack)
        assert stack in str(err.value) or precision in str(err.value)
        assert not (tmp_path / "q").exists()
        return
    r = quantize(digits_pt2, precision, digits_data, out=tmp_path / f"q{stack}", stack=stack)
    assert r.stack == stack and r.accuracy is not None
    assert r.accuracy_drop <= 0.03


def test_budget_search_keeps_sensitive_layers_float(tmp_path, digits_onnx, digits_data):
    # How much a harsh config costs depends on the trained weights, which differ across CPUs (oneDNN picks
    # kernels per ISA): clip harder until plain int8 misses the budget, so the search has work to do.
    # The first clipping that plain int8 cannot afford but the search can repair is the one tested.
    budget, r = 0.005, None
    for percentile in (90.0, 80.0, 75.0, 70.0, 60.0):
        harsh = {**HARSH, "percentile": percentile}
        full = quantize(digits_onnx, "int8", digits_data, out=tmp_path / "full.onnx", options=harsh,
                        measure_speed=False)
        if full.accuracy_drop <= budget:
            continue  # not harsh enough: plain int8 already meets the budget
        try:
            r = quantize(digits_onnx, "int8", digits_data, out=tmp_path / "mixed.onnx", options=harsh,
                         max_accuracy_drop="0.5%", measure_speed=False)
            break
        except BudgetNotMet:
            continue  # too harsh for three float layers to repair
    assert r is not None, "no harsh config for which plain int8 misses the budget and the search meets it"
    assert full.accuracy_drop > budget  # the budget is meaningful: plain int8 with this config misses it
    mixed = r.mixed_precision
    assert mixed is not None and mixed.met and mixed.budget == pytest.approx(budget)
    assert len(mixed.float_layers) >= 1
    assert r.accuracy_drop <= budget
    assert r.accuracy == pytest.approx(accuracy_on(r.artifact, digits_data))
    assert r.artifact.metadata["float_nodes"] == [f.node for f in mixed.float_layers]
    # the layers kept float are the most sensitive ones, each with its score and reason
    ranked = [s.node for s in mixed.sensitivity]
    assert [f.node for f in mixed.float_layers] == ranked[:len(mixed.float_layers)]
    assert all(f.sensitivity > 0 and "sensitivity" in f.reason for f in mixed.float_layers)
    assert mixed.steps[0].float_layers == [] and mixed.steps[0].accuracy_drop == pytest.approx(full.accuracy_drop)
    assert all(not s.meets_budget for s in mixed.steps[:-1]) and mixed.steps[-1].meets_budget
    assert full.size_bytes < r.size_bytes < r.float_size_bytes


def test_budget_not_met_reports_best_and_raises(tmp_path, digits_onnx, digits_data):
    with pytest.raises(BudgetNotMet, match="best found") as info:
        quantize(digits_onnx, "int8", digits_data, out=tmp_path / "b.onnx", options=HARSH,
                 max_accuracy_drop="0%", max_float_layers=1, measure_speed=False)
    best = info.value.result
    assert not best.mixed_precision.met and best.accuracy_drop > 0
    assert len(best.mixed_precision.steps) == 2
    assert best.accuracy_drop == min(s.accuracy_drop for s in best.mixed_precision.steps)
    assert best.artifact.path.exists()
    assert info.value.exit_code == 1


def test_bad_requests(tmp_path, digits_onnx, digits_data):
    with pytest.raises(ConfigError, match="precision 'int4'"):
        quantize(digits_onnx, "int4", digits_data)
    with pytest.raises(ConfigError, match="needs a dataset"):
        quantize(digits_onnx, "int8", None)
    with pytest.raises(ConfigError, match="unknown stack"):
        quantize(digits_onnx, "int8", digits_data, stack="tensorrt")
    with pytest.raises(ConfigError, match="budget"):
        quantize(digits_onnx, "int8", digits_data, max_accuracy_drop="lots")
    with pytest.raises(UnsupportedError, match="needs static quantisation"):
        quantize(digits_onnx, "fp16", digits_data, out=tmp_path / "x.onnx", max_accuracy_drop="1%")


@pytest.mark.slow
def test_openvino_budget_uses_nncf_accuracy_control(tmp_path, digits_pt2, digits_data):
    if not converters_for("openvino", "int8", digits_pt2.format):
        pytest.skip("no OpenVINO converter in this tree")
    r = quantize(digits_pt2, "int8", digits_data, out=tmp_path / "ov.xml", stack="openvino",
                 max_accuracy_drop="0.5%", measure_speed=False)
    assert "accuracy control" in r.method and r.budget == pytest.approx(0.005)
    assert r.budget_met and r.accuracy_drop <= 0.005
    assert r.size_bytes < 0.6 * r.float_size_bytes
    assert r.artifact.step.name == "openvino-quantize" and r.artifact.parent.format.value == "openvino"


@pytest.mark.slow
def test_tflite_budget_walks_the_precision_ladder(tmp_path, digits_pt2, digits_data):
    if not converters_for("tflite", "int8", digits_pt2.format):
        pytest.skip("no LiteRT converter in this tree")
    r = quantize(digits_pt2, "int8", digits_data, out=tmp_path / "m.tflite", stack="tflite",
                 max_accuracy_drop="1%", measure_speed=False)
    assert r.budget == pytest.approx(0.01) and r.tried and r.tried[0]["precision"] == "int8"
    chosen = next(t for t in r.tried if t["precision"] == r.precision)
    assert r.accuracy_drop == pytest.approx(chosen["accuracy_drop"])
    assert r.budget_met == (r.accuracy_drop <= 0.01)
    assert r.budget_met == chosen["meets_budget"] and r.artifact.path == tmp_path / "m.tflite"
    # the ladder stops at the first precision within budget
    assert all(not t["meets_budget"] for t in r.tried[:-1])
