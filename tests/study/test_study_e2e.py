"""End-to-end study on the built-in example through every installed stack (real conversions, real runs)."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from edgeport.study.pareto import Point, dominates
from edgeport.study.recommend import rejection_reason

pytestmark = pytest.mark.slow


def _reachable_runnable_formats(source: str) -> set[str]:
    """Formats the installed converters reach from ``source`` that an installed runtime runs here."""
    from edgeport.convert.planner import plan_paths
    from edgeport.core.formats import Format
    from edgeport.errors import EdgeportError
    from edgeport.runtimes import RUNTIMES

    runnable = {f for cls in RUNTIMES if cls.available() and cls.runnable_here for f in cls.formats}
    found = set()
    for fmt in runnable:
        try:
            if any(not p.missing() for p in plan_paths(Format(source), fmt)):
                found.add(fmt.value)
        except EdgeportError:
            continue
    return found


def test_every_installed_stack_is_a_candidate(full_study) -> None:
    result, *_ = full_study
    formats = {c.format for c in result.candidates}
    runtimes = {c.runtime for c in result.candidates}
    assert {"torch-export", "onnx"} <= formats
    assert "onnxruntime" in runtimes
    # each format some installed runtime executes was built (or its failure recorded) by the study
    reachable = _reachable_runnable_formats(result.model_format)
    assert reachable <= formats, reachable - formats
    ok = [c for c in result.candidates if c.status == "ok"]
    assert len(ok) >= 4
    for c in ok:  # real measurements on real data
        assert c.accuracy is not None and c.accuracy > 0.9
        assert c.latency_ms.median > 0 and len(c.latency_samples_ms) > 5
        assert c.size_bytes and Path(c.artifact).exists()
    for c in result.candidates:
        if c.status == "failed":
            assert c.error and c.stage


def test_pareto_set_is_non_dominated_and_complete(full_study) -> None:
    result, *_ = full_study
    pts = {c.key: Point(c.key, c.quality() or 0, c.median_ms, c.size_bytes or 0)
           for c in result.candidates if c.status == "ok"}
    assert result.pareto
    for key in result.pareto:
        assert not any(dominates(q, pts[key]) for q in pts.values())
    for key, p in pts.items():
        if key not in result.pareto:
            assert any(dominates(q, p) for q in pts.values())


def test_host_pick_is_the_fastest_variant_meeting_the_constraints(full_study) -> None:
    result, _, options, _ = full_study
    host = next(r for r in result.recommendations if r.target == "host")
    assert host.key is not None and host.measured
    qualified = [c for c in result.candidates
                 if rejection_reason(c, "host", options.constraints, result.source.accuracy, host=True) is None]
    assert min(c.median_ms for c in qualified) == host.latency_ms
    assert {r.key for r in host.rejected} == {c.key for c in result.candidates} - {host.key}


def test_unmeasurable_targets_get_checks_but_no_invented_latency(full_study) -> None:
    result, *_ = full_study
    for rec in result.recommendations:
        if rec.target == "host":
            continue
        assert not rec.measured and rec.latency_ms is None
        for c in result.candidates:
            if c.status == "ok":
                assert rec.target in c.targets and c.targets[rec.target].verdict


def test_constraints_change_the_pick_without_re_measuring(full_study) -> None:
    from edgeport.study.options import Constraints
    from edgeport.study.study import run_study

    result, store, options, root = full_study
    fastest = min((c for c in result.candidates if c.status == "ok"), key=lambda c: c.size_bytes)
    tight = dataclasses.replace(options, constraints=Constraints(max_size_mb=fastest.size_bytes / 1e6))
    again = run_study(tight, store=store)
    assert again.resumed == len(again.candidates)  # nothing re-measured
    host = next(r for r in again.recommendations if r.target == "host")
    assert host.size_bytes is not None and host.size_bytes <= fastest.size_bytes
    impossible = dataclasses.replace(options, constraints=Constraints(max_latency_ms=1e-6))
    none = run_study(impossible, store=store)
    host = next(r for r in none.recommendations if r.target == "host")
    assert host.key is None and host.closest and not none.constraints_met
    assert all("latency" in r.reason or "failed" in r.reason or "diverged" in r.reason
               for r in host.rejected)


def test_report_json_is_the_versioned_schema(full_study) -> None:
    result, *_ = full_study
    doc = json.loads(Path(result.report_json).read_text())
    assert doc["schema"] == "edgeport/study" and doc["schema_version"] >= 1
    assert len(doc["data"]["candidates"]) == len(result.candidates)
    html = Path(result.report_html).read_text()
    # self-contained: our own tags load nothing from elsewhere (the browser test checks no request leaves)
    head = html[: html.index("<script>")]
    assert "<link" not in head and "src=" not in head


def test_package_and_selector_pick_a_verified_variant(full_study, tmp_path: Path) -> None:
    from edgeport.deploy.manifest import build_package
    from edgeport.deploy.select import select
    from edgeport.report.schema import to_json

    result, *_ = full_study
    # the study's own document (other tests re-run it with other constraints into the same directory)
    pkg = build_package(to_json(result), tmp_path / "pkg")
    manifest = json.loads(Path(pkg.manifest).read_text())
    assert any(v["cpu_fallback"] for v in manifest["variants"])
    host_pick = next(r.key for r in result.recommendations if r.target == "host")
    chosen = select(pkg.manifest, target="host")
    assert chosen.variant["id"] == f"host:{host_pick}"
    # corrupt the chosen file: the selector refuses it and falls back to the CPU variant
    fallback_entry = next(v for v in manifest["variants"] if v["cpu_fallback"])
    chosen.path.write_bytes(b"corrupted")
    if fallback_entry["file"] == chosen.variant["file"]:  # the pick is itself the CPU fallback
        from edgeport.deploy.select import NoVariantError

        with pytest.raises(NoVariantError, match="SHA-256"):
            select(pkg.manifest, target="host")
    else:
        fallback = select(pkg.manifest, target="host")
        assert fallback.variant["id"] == fallback_entry["id"]
        assert any("SHA-256" in why for _, why in fallback.skipped)
