"""Fidelity matrix and per-layer quantisation sensitivity on the real digits model."""

from __future__ import annotations

import pytest

from edgeport import load_artifact
from edgeport.report.schema import to_json
from edgeport.verify.fidelity import fidelity
from edgeport.compress.sensitivity import layer_sensitivity, quantized_layer_snr


def test_fidelity_matrix_rows_and_columns(digits_pt2, digits_onnx, digits_data, planted):
    matrix = fidelity(digits_pt2, [digits_onnx, load_artifact(planted.quantized),
                                   load_artifact(planted.broken_scale), load_artifact(planted.perturbed)],
                      digits_data)
    assert matrix.task_metric_name == "accuracy" and matrix.source_metric > 0.95 and matrix.samples == 360
    onnx_row, q_row, broken_row, perturbed_row = matrix.rows
    assert onnx_row.passed and onnx_row.max_abs < 1e-4 and onnx_row.snr_db > 80 and onnx_row.task_metric_delta == 0
    assert q_row.precision == "int8" and q_row.passed and 20 < q_row.snr_db < 80
    assert q_row.top1_agreement >= 0.97 and abs(q_row.task_metric_delta) <= 0.02
    assert not broken_row.passed and broken_row.top1_agreement < q_row.top1_agreement
    assert broken_row.task_metric_delta < q_row.task_metric_delta and broken_row.snr_db < q_row.snr_db
    assert not perturbed_row.passed and perturbed_row.precision == "fp32"
    assert not matrix.passed and [r.artifact for r in matrix.failed_rows()] == [broken_row.artifact,
                                                                                 perturbed_row.artifact]
    for r in matrix.rows:
        assert r.top5_agreement is not None and r.mean_abs is not None and r.max_rel is not None
    data = to_json(matrix)
    assert data["kind"] == "fidelity" and len(data["rows"]) == 4


def test_fidelity_reports_an_unrunnable_artifact_as_a_row(digits_onnx, digits_data, tmp_path):
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(digits_onnx.path.read_bytes()[:200])
    matrix = fidelity(digits_onnx, [bad], digits_data)
    assert matrix.rows[0].error and not matrix.passed


def test_one_layer_at_a_time_sensitivity(digits_onnx, digits_data, second_conv):
    result = layer_sensitivity(digits_onnx, digits_data)
    assert result.method == "one-at-a-time" and len(result.layers) == 5  # 3 Conv + 2 Gemm
    assert {x.op_type for x in result.layers} == {"Conv", "Gemm"}
    snrs = [x.snr_db for x in result.layers]
    assert snrs == sorted(snrs) and all(20 < s < 90 for s in snrs)
    assert [x.rank for x in result.layers] == [1, 2, 3, 4, 5]
    assert all(x.accuracy_drop is not None and abs(x.accuracy_drop) <= 0.02 for x in result.layers)
    assert result.most_sensitive(1) == [result.layers[0].node]
    assert result.keep_float(min_snr_db=snrs[1] + 1e-9) == result.most_sensitive(2)
    to_json(result)


def test_per_layer_snr_points_at_the_broken_layer(digits_onnx, digits_data, planted, second_conv):
    result = quantized_layer_snr(digits_onnx, planted.broken_scale, digits_data)
    assert result.method == "per-layer-snr" and result.layers[0].node == second_conv
    by_node = {x.node: x.snr_db for x in result.layers}
    assert result.layers[0].snr_db < 10, (planted.broken_factor, by_node)  # int8 noise alone stays above 20 dB
    import onnx

    first_conv = next(n.name for n in onnx.load(str(digits_onnx.path)).graph.node if n.op_type == "Conv")
    assert by_node[first_conv] > 20, by_node  # upstream of the break: int8 noise only


def test_sensitivity_needs_onnx(digits_pt2, digits_data):
    from edgeport.errors import UnsupportedError

    with pytest.raises(UnsupportedError, match="ONNX"):
        layer_sensitivity(digits_pt2, digits_data)


def test_compress_adapter_ranks_like_the_result(digits_onnx, digits_data):
    from edgeport.compress.mixed import default_sensitivity

    fn, source = default_sensitivity()
    assert source.startswith("edgeport.compress.sensitivity")
    ranked = fn(digits_onnx, digits_data, None)
    scores = [x.score for x in ranked]
    assert len(ranked) == 5 and scores == sorted(scores, reverse=True) and all(0 < s < 0.1 for s in scores)
