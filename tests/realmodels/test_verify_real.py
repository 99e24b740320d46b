"""Verifying real third-party models against themselves through two runtimes raises no false alarm.

These are correct conversions that used to FAIL: ddddocr's batch-1 detector converted to an OpenVINO IR with
a free batch (16 samples were stacked into it), and PP-OCR's text detector, whose sigmoid map is ~1e-6 on
random inputs (cosine 0.99 on noise, under the 0.9999 that fp32 conversions are judged by).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from edgeport import load_artifact
from edgeport.verify.compare import verify
from edgeport.core.inputs import synthetic_feeds
from edgeport.verify.tolerance import Tolerance
from zoo import zoo_model

pytest.importorskip("onnxruntime")
pytest.importorskip("openvino")


def _zoo(model_id: str) -> Path:
    return zoo_model(model_id)[0]


def test_ddddocr_batch1_detector_verified_on_16_samples_through_openvino(tmp_path: Path):
    from edgeport.convert.api import convert

    source = load_artifact(_zoo("ddddocr-det"))
    assert source.inputs[0].shape == (1, 3, 416, 416)
    data = synthetic_feeds(source.inputs, 16)
    result = convert(source, "openvino", out=tmp_path / "det.xml", data=data, max_verify_samples=16)
    ir = result.artifact
    assert ir.inputs[0].shape[0] == 1  # the IR keeps the static batch its Reshapes bake in
    ver = result.verification
    assert ver is not None and ver.passed, ver.failures()
    out = ver.outputs[0]
    assert out.shape == [16, 3549, 6] and out.max_abs < 1e-3 and out.cosine is not None and out.cosine > 0.9999


def test_ppocr_detector_near_zero_map_onnxruntime_vs_openvino():
    from edgeport.runtimes.openvino import OpenVINOOptions

    model = load_artifact(_zoo("ppocr-det"))
    spec = replace(model.inputs[0], shape=(1, 3, 64, 64))
    result = verify(model, model, synthetic_feeds([spec], 8), split="all", tolerance=Tolerance.for_precision("fp32"),
                    test_runtime="openvino", test_options=OpenVINOOptions(inference_precision="f32"))
    assert (result.reference_runtime, result.test_runtime) == ("onnxruntime", "openvino")
    assert result.passed, result.failures()
    out = result.outputs[0]
    assert out.max_abs < 1e-5 and out.cosine is None
    assert "signal floor" in out.not_applied["cosine/snr"]
