"""The study's terminal view fits 80 columns with every number whole; ``wide`` shows every column.

The result is built by hand in the shape the demo study (``edgeport optimize`` on the digits
example, 36 candidates, host + a phone + an MCU) produced, plus the awkward cases: a failed and
a diverged candidate, a variant name too long for its column, a target with no pick.
"""

from __future__ import annotations

import io

import pytest
from rich.console import Console

from edgeport.report.terminal import ms, render_study
from edgeport.bench.conditions import capture
from edgeport.study.candidate import Candidate, LatencySummary
from edgeport.study.options import StudyOptions
from edgeport.predict.estimate import Estimate
from edgeport.study.recommend import Recommendation
from edgeport.study.result import SourceInfo, StudyResult

# key, accuracy, agreement, max |err|, median ms, p99 ms, size bytes, load ms — from the demo study
DEMO = [
    ('torch-export-fp32@torch-t1', 0.9889, 1.0, 0, 0.4186, 0.6192, 236271, 102.95),
    ('torch-export-fp32@torch-t2', 0.9889, 1.0, 0, 0.58037, 72.4602, 236271, 164.34),
    ('onnx-fp32@onnxruntime-t1', 0.9889, 1.0, 5.72e-06, 0.02989, 0.06771, 204216, 2.63),
    ('onnx-fp32@onnxruntime-t2', 0.9889, 1.0, 5.72e-06, 0.0325, 0.18143, 204216, 7.4),
    ('onnx-fp32@openvino-t1', 0.9889, 1.0, 5.72e-06, 0.0813, 0.13032, 204216, 33.1),
    ('onnx-fp32@openvino-t2', 0.9889, 1.0, 5.72e-06, 0.09259, 0.47551, 204216, 49.29),
    ('tflite-fp32@litert-t1', 0.9889, 1.0, 6.68e-06, 0.01904, 0.03671, 195748, 0.61),
    ('tflite-fp32@litert-t2', 0.9889, 1.0, 6.68e-06, 0.02367, 0.22331, 195748, 0.64),
    ('tflite-int8-dynamic@litert-t1', 0.9889, 1.0, 0.0945, 0.01952, 0.03631, 55000, 0.82),
    ('tflite-int8-dynamic@litert-t2', 0.9889, 1.0, 0.0945, 0.02262, 1.78483, 55000, 0.55),
    ('tflite-int8@litert-t1', 0.9889, 1.0, 2.01, 0.02137, 0.03791, 57408, 0.61),
    ('tflite-int8@litert-t2', 0.9889, 1.0, 2.01, 0.0262, 0.2846, 57408, 0.78),
    ('executorch-fp32@executorch-t1', 0.9889, 1.0, 5.72e-06, 0.05972, 0.13129, 196136, 1.92),
    ('executorch-fp32@executorch-t2', 0.9889, 1.0, 5.72e-06, 0.06763, 0.29469, 196136, 2.0),
    ('executorch-int8@executorch-t1', 0.9889, 1.0, 2, 0.04265, 0.06737, 58408, 1.61),
    ('executorch-int8@executorch-t2', 0.9889, 1.0, 2, 0.04864, 0.32709, 58408, 1.66),
    ('openvino-fp32@openvino-t1', 0.9889, 1.0, 5.72e-06, 0.08025, 0.11165, 204285, 30.99),
    ('openvino-fp32@openvino-t2', 0.9889, 1.0, 5.72e-06, 0.09024, 0.19465, 204285, 30.25),
    ('openvino-fp16@openvino-t1', 0.9889, 1.0, 0.00547, 0.08264, 0.117, 114656, 33.88),
    ('openvino-fp16@openvino-t2', 0.9889, 1.0, 0.00547, 0.14991, 2.93818, 114656, 55.98),
    ('openvino-int8@openvino-t1', 0.9889, 1.0, 2.22, 0.11186, 0.2342, 79282, 72.54),
    ('openvino-int8@openvino-t2', 0.9889, 1.0, 2.22, 0.11318, 0.70125, 79282, 51.47),
    ('tvm-fp32@tvm-t1', 0.9889, 1.0, 5.72e-06, 0.5631, 1.09585, 352487, 0.85),
    ('tvm-fp32@tvm-t2', 0.9889, 1.0, 5.72e-06, 0.56259, 0.80199, 352487, 0.85),
    ('onnx-int8-3422d2@onnxruntime-t1', 0.9917, 0.9972, 2.41, 0.05357, 0.11372, 64940, 4.29),
    ('onnx-int8-3422d2@onnxruntime-t2', 0.9917, 0.9972, 2.41, 0.03603, 0.11616, 64940, 7.41),
    ('onnx-int8-3422d2@openvino-t1', 0.9889, 1.0, 1.99, 0.10455, 0.19817, 64940, 63.09),
    ('onnx-int8-3422d2@openvino-t2', 0.9889, 1.0, 1.99, 0.11861, 0.99149, 64940, 60.24),
    ('onnx-int8-dynamic@onnxruntime-t1', 0.9889, 1.0, 0.227, 0.10487, 0.23055, 60532, 4.14),
    ('onnx-int8-dynamic@onnxruntime-t2', 0.9889, 1.0, 0.227, 0.11425, 4.15735, 60532, 8.48),
    ('onnx-int8-dynamic@openvino-t1', 0.9889, 1.0, 0.176, 0.17439, 0.35759, 60532, 91.55),
    ('onnx-int8-dynamic@openvino-t2', 0.9889, 1.0, 0.176, 0.22055, 3.05326, 60532, 96.65),
    ('onnx-fp16@onnxruntime-t1', 0.9889, 1.0, 0.00564, 0.03842, 0.06652, 109758, 4.98),
    ('onnx-fp16@onnxruntime-t2', 0.9889, 1.0, 0.00564, 0.04408, 4.0767, 109758, 9.21),
    ('onnx-fp16@openvino-t1', 0.9889, 1.0, 0.00547, 0.08275, 0.13036, 109758, 32.7),
    ('onnx-fp16@openvino-t2', 0.9889, 1.0, 0.00547, 0.09471, 2.55111, 109758, 49.1),
]
LONG_KEY = "onnx-int8-per-channel-entropy-calibrated-3422d2@onnxruntime-t2"


def _candidate(key: str, acc: float | None, agree: float, err: float, med: float, p99: float, size: int,
               load: float) -> Candidate:
    build, _, rt = key.partition("@")
    runtime, _, threads = rt.rpartition("-t")
    return Candidate(key=key, build=build, format=build.split("-")[0], precision=build.split("-")[1],
                     runtime=runtime, threads=int(threads), status="ok", size_bytes=size, accuracy=acc,
                     agreement=agree, accuracy_delta=None if acc is None else acc - 0.9889, max_abs=err,
                     latency_ms=LatencySummary(median=med, p90=med * 1.1, p99=p99), load_ms=load, peak_rss_mb=12.4,
                     verified=True)


def _study(labelled: bool = True) -> StudyResult:
    cands = [_candidate(k, a if labelled else None, *rest) for k, a, *rest in DEMO]
    cands.append(_candidate(LONG_KEY, 0.9861 if labelled else None, 0.9944, 2.41, 0.03712, 0.1021, 64940, 7.1))
    cands.append(Candidate(key="coreml-int8@coreml-t1", build="coreml-int8", format="coreml", precision="int8",
                           runtime="coreml", threads=1, status="failed", stage="bench",
                           error="Core ML runs models only on macOS: predict() is unavailable on Linux"))
    cands.append(Candidate(key="tflite-fp16@litert-t1", build="tflite-fp16", format="tflite", precision="fp16",
                           runtime="litert", threads=1, status="diverged", stage="verify", accuracy=0.1 if labelled else None,
                           agreement=0.12, max_abs=41.5, verification_failures=["cosine 0.31 < 0.999"]))
    recs = [
        Recommendation("host", "tflite-fp32@litert-t1", True, "fastest measured variant within the constraints "
                       "(0.0190 ms median)", latency_ms=0.019036, accuracy=0.9889, size_bytes=195748),
        Recommendation("pixel-8", "tflite-int8@litert-t1", False, "best deployable variant: 9 of 9 nodes delegated "
                       "(nnapi 9) in 1 partition; fits on pixel-8: arena 6.7 KB of 3.0 GB RAM, margin 3.0 GB",
                       estimated_latency_ms=0.6, accuracy=0.9889, size_bytes=57408,
                       estimate=Estimate(0.6, 0.12, 3.0, "uncalibrated estimate (within ~5×)", False, 0, None, "int8",
                                         energy_mj=3.0, energy_label="estimate: latency × 5 W profile active power"),
                       energy_mj=3.0, energy_label="estimate: latency × 5 W profile active power"),
        Recommendation("stm32h743", "tflite-int8@litert-t1", False, "best deployable variant: 9 of 9 nodes "
                       "delegated (tflm 9) in 1 partition; fits on stm32h743: arena 6.7 KB of 1.0 MB SRAM; flash "
                       "103.9 KB of 2.0 MB, margin 1017.3 KB", estimated_latency_ms=0.5052, accuracy=0.9889,
                       size_bytes=57408, estimate=Estimate(0.5052, 0.4, 0.6, "calibrated on 12 models (±9 %)", True,
                                                           12, "tflm", "int8")),
        Recommendation("nano-33-ble-sense", None, False, "no variant fits 256 KB of SRAM",
                       closest=["tflite-int8@litert-t1", "tflite-int8-dynamic@litert-t1"]),
    ]
    return StudyResult(study_id="bbc4baf9ba8f1f7f", model="digits-cnn.pt2", model_format="torch-export",
                       data="digits", data_note="" if labelled else "no labels: quality is agreement with the source",
                       options=StudyOptions(), source=SourceInfo(path="digits-cnn.pt2", format="torch-export",
                                         size_bytes=236271, samples=360),
                       candidates=cands, conditions=capture(),
                       pareto=["tflite-fp32@litert-t1", "tflite-int8-dynamic@litert-t1",
                               "onnx-int8-3422d2@onnxruntime-t2"],
                       recommendations=recs, out_dir="edgeport-out/digits",
                       report_html="edgeport-out/digits/report.html", report_json="edgeport-out/digits/report.json",
                       seconds=234.7)


def _render(result: StudyResult, *, wide: bool = False, width: int = 80) -> str:
    con = Console(width=width, file=io.StringIO(), record=True, color_system=None, soft_wrap=False)
    render_study(result, con, wide=wide)
    return con.export_text()


@pytest.mark.parametrize("labelled", [True, False])
def test_study_view_fits_80_columns_with_no_number_cut(labelled):
    result = _study(labelled)
    text = _render(result)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, max(lines, key=len)
    assert "…" not in text
    keys = {c.key for c in result.candidates}
    rows = {line.split()[0]: line for line in lines if line.split() and line.split()[0] in keys}
    for c in result.candidates:  # each row carries its candidate's numbers, whole
        if c.key in rows and c.status == "ok":
            assert f" {ms(c.median_ms)} " in rows[c.key] and f" {c.size_bytes / 1e3:.1f}" in rows[c.key], c.key
    assert len(rows) == len(result.candidates) - 1  # every key on one line, but the one too long for its column
    row = rows["onnx-fp32@openvino-t2"].split()
    quality = "98.89%" if labelled else "100.00%"
    assert row == ["onnx-fp32@openvino-t2", "ok", quality, ms(0.09259), "204.2"]
    assert rows["tflite-fp32@litert-t1"].split()[:2] == ["tflite-fp32@litert-t1", "◆"]
    assert "p99 ms" not in text and "max|err|" not in text  # the default view leaves the detail to --wide


def test_study_view_explains_picks_failures_and_estimates():
    text = _render(_study())
    assert "~0.505 ms" in text and "0.019 ms" in text  # an estimate is marked, a measurement is not
    flat = " ".join(text.split())
    assert "~0.505 ms [0.4–0.6]" in flat  # with its interval and its label: never a bare number
    assert "latency calibrated on 12 models (±9 %)" in flat
    assert "latency uncalibrated estimate (within ~5×); energy 3 mJ/inference (estimate: latency × 5 W" in flat
    assert "estimated from the device profile" in text
    assert "nano-33-ble-sense: no variant fits 256 KB of SRAM; closest: tflite-int8@litert-t1" in " ".join(text.split())
    flat = " ".join(text.split())
    assert "coreml-int8@coreml-t1 (bench): Core ML runs models only on macOS" in flat
    assert "tflite-fp16@litert-t1 (verify): cosine 0.31 < 0.999" in flat


def test_wide_view_shows_every_column_uncut():
    result = _study()
    text = _render(result, wide=True)
    assert "…" not in text
    for header in ("accuracy", "agree", "Δacc pts", "max|err|", "SNR dB", "median ms", "p99 ms", "load ms", "RSS MB",
                   "size KB"):
        assert header in text, header
    row = next(line for line in text.splitlines() if line.startswith("torch-export-fp32@torch-t2 ")).split()
    assert row[row.index("ok") + 1:] == ["98.89%", "100.00%", "+0.00", "0.00e+00", "—", ms(0.58037), ms(72.4602),
                                         ms(164.34), "12.4", "236.3"]
    assert LONG_KEY in text  # not folded: --wide prints at the table's natural width
