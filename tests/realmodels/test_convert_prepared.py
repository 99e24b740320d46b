"""Conversion of real third-party ONNX models once they are prepared (shapes, constant inputs, onnxslim).

Each converted model is run on the same synthetic inputs as the original under ONNX Runtime.
Measured here: OpenVINO fp32 max |Δ| 2.7e-6 on silero-vad (sr baked in, its 25 ``If`` nodes folded)
and 4e-7 on ppocr-cls at 1x3x48x192. Models resolve under ``$EDGEPORT_ZOO_DIR``
(``<dir>/<wheel distribution>/<member>``); without it the tests skip (fail under ``CI=true``).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from zoo import cache_dir

from edgeport import load_artifact
from edgeport.errors import ConfigError

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnxslim")

SILERO = ("silero_vad", "silero_vad/data/silero_vad.onnx")
PPOCR_CLS = ("rapidocr_onnxruntime", "rapidocr_onnxruntime/models/ch_ppocr_mobile_v2.0_cls_infer.onnx")
PPOCR_DET = ("rapidocr_onnxruntime", "rapidocr_onnxruntime/models/ch_PP-OCRv4_det_infer.onnx")
DDDDOCR_OCR = ("ddddocr", "ddddocr/common_old.onnx")


def _zoo(dist: str, member: str) -> Path:
    root = cache_dir()
    path = root / dist / member
    if not path.is_file():
        why = f"{member} not found under {root}; run `make zoo` (or set $EDGEPORT_ZOO_DIR)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(why)
        pytest.skip(why)
    return path


def _planned(path: Path, shapes: dict[str, tuple[int, ...]], values: dict[str, object] | None = None):  # noqa: ANN202
    """The artifact as the input plan hands it to a converter (``--shape`` / ``--input`` applied)."""
    art = load_artifact(path)
    inputs = tuple(replace(s, shape=shapes[s.name]) if s.name in shapes else s for s in art.inputs)
    return replace(art, inputs=inputs, metadata={**art.metadata, "input_values": dict(values or {})})


def _ort(path: Path, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return dict(zip([o.name for o in sess.get_outputs()], sess.run(None, feeds)))


def test_prepared_dynamic_quantized_ocr_keeps_its_real_output_shape(tmp_path: Path) -> None:
    """ddddocr declares its output [1, seqlen] but returns [32, 1, 8210]; folding must not believe the declaration."""
    from edgeport.convert._onnx_prepare import prepare_for

    src = _zoo(*DDDDOCR_OCR)
    stand_in, meta = prepare_for(_planned(src, {"input1": (1, 1, 64, 256)}), tmp_path, backend="test")
    assert "simplified with onnxslim" in meta["prepared"]
    feeds = {"input1": np.random.default_rng(0).uniform(0, 1, (1, 1, 64, 256)).astype(np.float32)}
    want, got = _ort(src, feeds), _ort(stand_in.path, feeds)
    assert {k: v.shape for k, v in got.items()} == {k: v.shape for k, v in want.items()}
    np.testing.assert_allclose(got["387"], want["387"], atol=1e-5)


def test_silero_vad_to_openvino_with_a_constant_sample_rate(tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    from edgeport.convert import CONVERTERS
    from edgeport.convert.api import run_step
    from edgeport.runtimes.base import open_runtime

    src = _zoo(*SILERO)
    conv = CONVERTERS.get("onnx-to-openvino")
    art = run_step(conv, _planned(src, {"input": (1, 512), "state": (2, 1, 128)}, {"sr": 16000}),
                   tmp_path / "vad.xml", conv.Options())
    assert art.metadata["baked_inputs"] == {"sr": 16000}
    assert any("folded" in n and "If" in n for n in art.step.metrics["prepared"]), art.step.metrics
    assert [(s.name, s.shape) for s in art.inputs] == [("input", (1, 512)), ("state", (2, 1, 128))]
    rng = np.random.default_rng(0)
    state = np.zeros((2, 1, 128), np.float32)
    with open_runtime(art) as rt:
        for _ in range(4):  # a few chunks, feeding the state back as the application does
            chunk = rng.uniform(-1, 1, (1, 512)).astype(np.float32)
            want = _ort(src, {"input": chunk, "state": state, "sr": np.array(16000, np.int64)})
            got = rt.run({"input": chunk, "state": state})
            assert set(got) == {"output", "stateN"}
            for name in want:
                np.testing.assert_allclose(got[name], want[name], atol=1e-4)
            state = want["stateN"]


def test_dynamic_ocr_classifier_to_openvino_with_shapes_is_verified(tmp_path: Path) -> None:
    pytest.importorskip("openvino")
    from edgeport.convert.api import convert

    src = _zoo(*PPOCR_CLS)
    result = convert(_planned(src, {"x": (1, 3, 48, 192)}), "openvino", out=tmp_path / "cls.xml")
    v = result.verification
    assert v is not None and v.passed, v.failures()
    assert v.reference_runtime == "onnxruntime" and v.test_runtime == "openvino"
    assert max(o.max_abs for o in v.outputs) < 1e-4
    assert result.artifact.inputs[0].shape == (1, 3, 48, 192)


def test_unknown_dims_fail_before_tvm_compiles_naming_shape(tmp_path: Path) -> None:
    pytest.importorskip("tvm")
    from edgeport.convert import CONVERTERS
    from edgeport.convert.api import run_step

    src = _zoo(*PPOCR_DET)
    conv = CONVERTERS.get("onnx-to-tvm")
    with pytest.raises(ConfigError) as info:
        run_step(conv, load_artifact(src), tmp_path / "det.tvm", conv.Options())
    text = str(info.value)
    assert "TVM needs fixed input shapes" in text and "--shape x=" in info.value.fix and "\n" not in text
    assert not list(tmp_path.glob("det*"))
