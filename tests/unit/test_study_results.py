"""A study's results are typed dataclasses that serialise to the same JSON report shape; a stored
candidate reads back equal (the resume path); the report, terminal view and package read them."""

from __future__ import annotations

import json
from pathlib import Path

from edgeport.report.schema import envelope, to_json
from edgeport.study.candidate import (Candidate, LatencySummary, LineageEntry, LineageStep, TargetFit,
                                      TargetMeasurement)
from edgeport.study.options import Constraints, StudyOptions
from edgeport.study.recommend import Recommendation, Rejection
from edgeport.study.result import SourceInfo, StudyResult, TargetSummary


def _candidate(artifact: Path) -> Candidate:
    return Candidate(
        key="onnx-fp32@onnxruntime-t1", build="onnx-fp32", format="onnx", precision="fp32", runtime="onnxruntime",
        threads=1, status="ok", artifact=str(artifact), size_bytes=1234, accuracy=0.97, agreement=1.0,
        accuracy_delta=0.0, max_abs=1e-6, cosine=1.0, snr_db=float("inf"), verified=True,
        latency_ms=LatencySummary(median=0.05, p90=0.06, p99=0.08, mean=0.052, ci95_low=0.049, ci95_high=0.051,
                                  cv=0.1, min=0.045),
        latency_samples_ms=[0.05, 0.051], throughput=19000.0, load_ms=3.0, peak_rss_mb=1.5,
        runtime_info={"provider": "CPUExecutionProvider"},
        lineage=[LineageEntry("m.pt2", "torch-export"),
                 LineageEntry(str(artifact), "onnx", LineageStep("convert", "torch-to-onnx", {"opset": 18}))],
        targets={"host": TargetFit("host", True, "measured on this host"),
                 "pixel-8": TargetFit("pixel-8", True, "fully delegated", 0.4, {"runtime": "litert"}),
                 "rpi5": TargetFit("rpi5", True, "measured on agent://127.0.0.1:8787 (onnxruntime)", measured=
                                   TargetMeasurement("agent://127.0.0.1:8787", "remote", 1, LatencySummary(median=0.3),
                                                     load_ms=2.0, verified=True, agreement=1.0, max_abs=0.0,
                                                     conditions={"machine": "aarch64"}))},
        seconds=1.5)


def test_a_stored_candidate_reads_back_equal(tmp_path: Path) -> None:
    cand = _candidate(tmp_path / "a.onnx")
    doc = json.loads(json.dumps(to_json(cand)))  # what the store keeps
    assert doc["snr_db"] == "inf"  # the schema writes non-finite floats as strings...
    assert Candidate.from_json(doc) == cand  # ...and they read back as floats


def test_the_candidate_json_shape_is_unchanged(tmp_path: Path) -> None:
    doc = to_json(_candidate(tmp_path / "a.onnx"))
    assert doc["latency_ms"] == {"median": 0.05, "p90": 0.06, "p99": 0.08, "mean": 0.052, "ci95_low": 0.049,
                                 "ci95_high": 0.051, "cv": 0.1, "min": 0.045}
    assert doc["lineage"][0] == {"path": "m.pt2", "format": "torch-export", "step": None}
    assert doc["lineage"][1]["step"] == {"kind": "convert", "name": "torch-to-onnx", "options": {"opset": 18}}
    assert doc["targets"]["pixel-8"]["estimated_latency_ms"] == 0.4
    assert doc["targets"]["rpi5"]["measured"]["latency_ms"]["median"] == 0.3


def test_a_failed_candidate_and_an_older_document_read_back() -> None:
    failed = Candidate("k", "b", "onnx", "fp32", "onnxruntime", 1, status="failed", stage="build", error="x")
    assert failed.median_ms is None and Candidate.from_json(to_json(failed)) == failed
    older = {"key": "k", "build": "b", "format": "onnx", "precision": "fp32", "runtime": "onnxruntime", "threads": 1,
             "status": "ok", "latency_ms": {"median": 0.2, "p99": 0.3}, "lineage": [{"path": "p", "format": "onnx"}],
             "targets": {}, "no_longer_a_field": 1}
    cand = Candidate.from_json(older)
    assert cand.median_ms == 0.2 and cand.latency_ms.p99 == 0.3 and cand.lineage == [LineageEntry("p", "onnx")]


def _result(tmp_path: Path) -> StudyResult:
    from edgeport.bench.conditions import capture

    artifact = tmp_path / "a.onnx"
    artifact.write_bytes(b"onnx bytes")
    cand = _candidate(artifact)
    cand.snr_db = 1e9  # what verification records for bit-exact outputs (a finite stand-in for ∞)
    rec = Recommendation(target="host", key=cand.key, measured=True, reason="fastest", latency_ms=0.05,
                         accuracy=0.97, size_bytes=1234, rejected=[Rejection("other", "slower")])
    return StudyResult(
        study_id="abc", model="m.pt2", model_format="torch-export", data="builtin:digits", data_note="",
        options=StudyOptions(constraints=Constraints(max_accuracy_drop=0.005)),
        source=SourceInfo("m.pt2", "torch-export", 999, 360, runtime="torch", accuracy=0.97),
        candidates=[cand], pareto=[cand.key], recommendations=[rec], conditions=capture(), profile_error="ModelFileError: no graph",
        targets={"host": TargetSummary("host", "This machine", "host", True)},
        backends={"runtime:onnxruntime": "1.31.0"}, out_dir=str(tmp_path))


def test_the_study_document_keeps_its_shape(tmp_path: Path) -> None:
    data = to_json(_result(tmp_path))
    assert data["options"]["constraints"]["max_accuracy_drop"] == 0.005 and data["options"]["threads"] == [1, 2]
    assert data["source"] == {"path": "m.pt2", "format": "torch-export", "size_bytes": 999, "samples": 360,
                              "runtime": "torch", "accuracy": 0.97, "error": None}
    assert data["targets"]["host"] == {"id": "host", "name": "This machine", "kind": "host", "measured_here": True,
                                      "measured_by": ""}
    assert data["recommendations"][0]["rejected"] == [{"key": "other", "reason": "slower"}]
    assert data["conditions"]["machine"] and isinstance(data["conditions"]["isa_flags"], list)


def test_the_html_report_terminal_view_and_package_read_the_typed_result(tmp_path: Path) -> None:
    from rich.console import Console

    from edgeport.deploy.manifest import package
    from edgeport.report.html import render
    from edgeport.report.terminal import render_study

    result = _result(tmp_path)
    html = render(envelope("study", result))
    assert "onnx-fp32@onnxruntime-t1" in html and "ModelFileError: no graph" in html
    con = Console(record=True, width=200)
    render_study(result, con, wide=True)
    from edgeport.report.terminal import ms

    assert f" {ms(0.08)} " in con.export_text()  # p99 (a --wide column) from the typed latency
    pkg = package(result, tmp_path / "pkg")
    (variant,) = [v for v in pkg.variants if not v["cpu_fallback"]]
    assert variant["latency_ms"] == 0.05 and variant["lineage"][1]["step"]["name"] == "torch-to-onnx"
