"""Verification and localisation across the installed formats (digits through each converter)."""

from __future__ import annotations

import pytest

from edgeport import load_artifact
from edgeport._optional import is_available
from edgeport.verify.compare import verify
from edgeport.verify.fidelity import fidelity

needs_tflite = pytest.mark.skipif(not (is_available("onnx2tf") and is_available("ai_edge_litert")),
                                  reason="TFLite conversion not installed")
needs_openvino = pytest.mark.skipif(not is_available("openvino"), reason="OpenVINO not installed")


@pytest.fixture(scope="module")
def digits_tflite(tmp_path_factory, digits_onnx, digits_data):  # noqa: ANN001, ANN201
    from edgeport.convert.api import convert

    return convert(digits_onnx, "tflite", out=tmp_path_factory.mktemp("tfl") / "digits.tflite",
                   data=digits_data).artifact


@pytest.fixture(scope="module")
def digits_openvino(tmp_path_factory, digits_onnx, digits_data):  # noqa: ANN001, ANN201
    from edgeport.convert.api import convert

    return convert(digits_onnx, "openvino", out=tmp_path_factory.mktemp("ov") / "digits.xml",
                   data=digits_data).artifact


@needs_tflite
@pytest.mark.slow
def test_tflite_nhwc_conversion_passes_and_localises_cleanly(digits_pt2, digits_tflite, digits_data):
    result = verify(digits_pt2, digits_tflite, digits_data, localize=True)
    assert result.passed, result.failures()
    assert any("NCHW → NHWC" in line for line in result.alignment)
    loc = result.localization
    assert loc.available and loc.first_divergent is None, loc.summary()
    ops = [x.op_type for x in loc.layers]
    assert ops.count("CONV_2D") == 3 and "FULLY_CONNECTED" in ops
    # fused conv+ReLU meets the reference ReLU, through the NHWC→NCHW permutation
    convs = [x for x in loc.layers if x.op_type == "CONV_2D"]
    assert [c.reference_tensor for c in convs] == ["relu", "relu_1", "relu_2"]
    assert all("transpose" in c.note for c in convs) and min(x.snr_db for x in loc.layers) > 90


@needs_tflite
@pytest.mark.slow
def test_tflite_with_perturbed_conv_is_localised(digits_onnx, digits_data, planted, tmp_path):
    from edgeport.convert.api import convert

    bad = convert(load_artifact(planted.perturbed), "tflite", out=tmp_path / "bad.tflite", data=digits_data,
                  verify_result=False).artifact
    result = verify(digits_onnx, bad, digits_data, localize=True)
    assert not result.passed
    d = result.localization.first_divergent
    assert d is not None and d.op_type == "CONV_2D" and d.reference_tensor == "relu_1"  # the second conv


@needs_openvino
def test_openvino_passes_and_localises_cleanly(digits_pt2, digits_openvino, digits_data):
    result = verify(digits_pt2, digits_openvino, digits_data, localize=True)
    assert result.passed, result.failures()
    loc = result.localization
    assert loc.available and loc.first_divergent is None, loc.summary()
    assert len(loc.layers) >= 10 and min(x.snr_db for x in loc.layers if x.within) > 90
    # the conv-without-bias values OpenVINO splits out meet the pre-BN torch conv: flagged, not faults
    assert all(x.within or x.recovered for x in loc.layers)
    assert any(x.recovered and x.op_type == "Convolution" for x in loc.layers)


@needs_openvino
def test_openvino_with_perturbed_conv_is_localised(digits_onnx, digits_data, planted, second_conv, tmp_path):
    from edgeport.convert.api import convert

    bad = convert(load_artifact(planted.perturbed), "openvino", out=tmp_path / "bad.xml", data=digits_data,
                  verify_result=False).artifact
    result = verify(digits_onnx, bad, digits_data, localize=True)
    assert not result.passed
    d = result.localization.first_divergent
    assert d is not None and d.test_node.startswith(second_conv) and d.reference_tensor == "getitem_3"
    assert digits_openvino_untouched(bad)


def digits_openvino_untouched(art) -> bool:  # noqa: ANN001
    """Instrumenting reads the IR into memory: the files keep their bytes."""
    before = art.sha256()
    from edgeport.verify.trace import capture
    from edgeport.data.examples import digits

    capture(art, digits().split("test"), max_samples=4)
    return art.sha256() == before


@needs_tflite
@needs_openvino
@pytest.mark.slow
def test_fidelity_matrix_across_formats(digits_pt2, digits_onnx, digits_tflite, digits_openvino, digits_data,
                                        planted):
    matrix = fidelity(digits_pt2, [digits_onnx, digits_tflite, digits_openvino, load_artifact(planted.quantized)],
                      digits_data)
    fmts = [r.format for r in matrix.rows]
    assert fmts == ["onnx", "tflite", "openvino", "onnx"]
    assert [r.passed for r in matrix.rows] == [True, True, True, True]
    for r in matrix.rows[:3]:
        assert r.precision == "fp32" and r.snr_db > 80 and r.task_metric_delta == 0
    assert matrix.rows[3].precision == "int8" and matrix.rows[3].snr_db < matrix.rows[0].snr_db
    assert matrix.rows[1].alignment  # the NHWC alignment is listed on the TFLite row


@pytest.mark.slow
@pytest.mark.skipif(not (is_available("tvm") and is_available("executorch")), reason="TVM/ExecuTorch not installed")
def test_fidelity_through_tvm_and_executorch(digits_pt2, digits_onnx, digits_data, tmp_path):
    from edgeport.convert.api import convert

    tvm = convert(digits_onnx, "tvm", out=tmp_path / "digits-tvm", data=digits_data, verify_result=False).artifact
    pte = convert(digits_pt2, "executorch", out=tmp_path / "digits.pte", data=digits_data,
                  verify_result=False).artifact
    matrix = fidelity(digits_pt2, [tvm, pte], digits_data, localize=True)
    assert [r.format for r in matrix.rows] == ["tvm", "executorch"]
    for row in matrix.rows:
        assert row.passed, row.failures
        assert row.snr_db > 80 and row.top1_agreement == 1.0 and row.task_metric_delta == 0
    loc = verify(digits_pt2, pte, digits_data, localize=True).localization
    assert not loc.available and "executorch models expose no intermediate tensors" in loc.reason
