"""A shipped TFLite detector as the source (MediaPipe's short-range face detector, fp16 weights, no
signature, old-schema op codes): → ONNX and → OpenVINO verified against LiteRT, and ai-edge-quantizer int8
calibrated on photo crops and judged by agreement on held-out crops.

The model file is found under ``EDGEPORT_ZOO_DIR`` (the extracted third-party models); the test is
skipped when that is not set. The photos are the two scikit-learn ships (``load_sample_images``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from zoo import cache_dir

from edgeport.data.datasets import Dataset

pytestmark = pytest.mark.slow
pytest.importorskip("tf2onnx")
pytest.importorskip("ai_edge_quantizer")


def _zoo_model(name: str) -> Path:
    root = cache_dir()
    found = sorted(root.rglob(name))
    if not found:
        why = f"{name} not found under {root}; run `make zoo` (or set $EDGEPORT_ZOO_DIR)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)
    return found[0]


def _photo_crops(n: int, size: int, seed: int = 0) -> np.ndarray:
    """``n`` random square crops of the sample photos, resized to ``size``, scaled to [-1, 1] (NHWC)."""
    pytest.importorskip("PIL")
    from PIL import Image
    from sklearn.datasets import load_sample_images

    photos = load_sample_images().images
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(n):
        im = photos[i % len(photos)]
        side = int(rng.integers(min(im.shape[:2]) // 3, min(im.shape[:2])))
        y, x = (int(rng.integers(0, d - side + 1)) for d in im.shape[:2])
        crop = Image.fromarray(im[y:y + side, x:x + side]).resize((size, size))
        crops.append(np.asarray(crop, dtype=np.float32) / 127.5 - 1.0)
    return np.stack(crops)


@pytest.fixture(scope="module")
def face_detector():
    from edgeport import load_artifact

    return load_artifact(_zoo_model("face_detection_short_range.tflite"))


@pytest.fixture(scope="module")
def crops(face_detector) -> Dataset:
    spec = face_detector.inputs[0]
    return Dataset(name="photo-crops", inputs={spec.name: _photo_crops(96, 128)},
                   splits={"calibration": np.arange(64), "test": np.arange(64, 96)}, source="sklearn sample photos")


@pytest.mark.parametrize("target,path", [("onnx", ["tflite", "onnx"]), ("openvino", ["tflite", "onnx", "openvino"])])
def test_face_detector_converts_and_verifies(tmp_path, face_detector, crops, target, path):
    if target == "openvino":
        pytest.importorskip("openvino")
    from edgeport.convert.api import convert

    r = convert(face_detector, target, out=tmp_path / ("fd.onnx" if target == "onnx" else "fd.xml"), data=crops)
    assert r.path_taken == path
    assert r.verification is not None and r.verification.passed, r.verification.failures()
    assert {o.name for o in r.verification.outputs} == {"regressors", "classificators"}
    assert all(o.max_abs < 5e-3 and o.cosine > 0.9999 for o in r.verification.outputs)


def test_face_detector_int8_agrees_on_held_out_crops(tmp_path, face_detector, crops):
    from edgeport.passes import PASSES

    q = PASSES.get("tflite-quantize")().apply(face_detector, tmp_path / "fd-int8.tflite", None, crops)
    m = q.step.metrics
    assert q.metadata["prepared"]["fp16_weights_expanded"] > 0 and q.metadata["prepared"]["signature_added"] == 1
    assert m["samples"] == 32 and m["verified"], m["failures"]
    assert m["cosine"] > 0.98
    assert [s.name for s in q.inputs] == ["input"] and q.inputs[0].dtype == "float32"
