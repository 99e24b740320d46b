"""RESULTS.md's headline: edgeport's pick against the fastest row of every other stack."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.report import PICK_MARK, headline_rows, render_markdown  # noqa: E402


def _table(threads: int, rows: list[dict]) -> dict:
    return {"title": f"digits: batch 1, {threads} thread", "columns": [["stack", "stack"]], "rows": rows,
            "conditions": {"threads": threads}, "notes": []}


def _doc(tables: list[dict]) -> dict:
    return {"date": "2026-01-01", "mode": "full", "suites": [
        {"name": "digits", "title": "Digits", "seconds": 1.0, "tables": tables, "targets": [], "notes": [],
         "skipped": [], "error": None}]}


def test_headline_compares_the_pick_with_the_fastest_other_row_and_fastest_fp32():
    rows = [{"stack": "ONNX Runtime", "precision": "fp32", "median_ms": 0.20, "accuracy": 0.986},
            {"stack": "LiteRT (XNNPACK)", "precision": "fp32", "median_ms": 0.10, "accuracy": 0.986},
            {"stack": "ExecuTorch (XNNPACK)", "precision": "int8", "median_ms": 0.08, "accuracy": 0.97},
            {"stack": f"edgeport pick {PICK_MARK}", "precision": "int8", "median_ms": 0.06, "accuracy": 0.986,
             "how": "tflite-int8@litert-t1"},
            {"stack": "broken row", "precision": "fp32", "median_ms": None}]
    (row,) = headline_rows(_doc([_table(1, rows)]))
    assert row["model"] == "digits" and row["threads"] == 1
    assert row["fastest"] == "ExecuTorch (XNNPACK) int8"
    assert row["vs_fastest"] == pytest.approx(0.06 / 0.08)
    assert row["fastest_fp32"] == "LiteRT (XNNPACK)"
    assert row["vs_fastest_fp32"] == pytest.approx(0.06 / 0.10)
    md = render_markdown(_doc([_table(1, rows)]))
    assert "## edgeport's pick vs every stack" in md
    assert "tflite-int8@litert-t1 (int8)" in md and "0.75×" in md and "0.60×" in md


def test_tables_without_a_pick_row_have_no_headline():
    rows = [{"stack": "ONNX Runtime", "precision": "fp32", "median_ms": 0.2}]
    assert headline_rows(_doc([_table(2, rows)])) == []
    assert "pick vs every stack" not in render_markdown(_doc([_table(2, rows)]))


def test_update_swaps_in_rerun_suites_and_keeps_the_old_numbers_of_a_failed_one():
    from benchmarks.run import _merge

    def suite(name, value, error=None):
        return {"name": name, "title": name, "seconds": 1.0, "targets": [], "notes": [], "skipped": [],
                "error": error, "tables": [_table(1, [{"stack": "ONNX Runtime", "median_ms": value}])]}

    base = dict(_doc([]), suites=[suite("digits", 1.0), suite("tool_speed", 2.0), suite("tvm", 3.0)],
                loaded=False, created="2026-01-01T00:00:00+00:00")
    new = {"date": "2026-01-02", "created": "2026-01-02T00:00:00+00:00", "edgeport_version": "x", "wall_s": 5.0,
           "loaded": False, "conditions": {},
           "suites": [suite("tool_speed", 20.0), suite("tvm", 30.0, error="boom")]}
    doc = _merge(base, new, interrupted=False)
    by_name = {s["name"]: s for s in doc["suites"]}
    assert [s["name"] for s in doc["suites"]] == ["digits", "tool_speed", "tvm"]
    assert by_name["tool_speed"]["tables"][0]["rows"][0]["median_ms"] == 20.0
    assert by_name["tool_speed"]["rerun"] == new["created"]
    assert by_name["tvm"]["tables"][0]["rows"][0]["median_ms"] == 3.0 and "rerun" not in by_name["tvm"]
    assert doc["updates"][-1]["suites"] == ["tool_speed"] and doc["updates"][-1]["failed_kept_old"] == ["tvm"]
    md = render_markdown(doc)
    assert "re-run on 2026-01-02T00:00:00+00:00 inside this record: tool_speed (failed, old numbers kept: tvm)" in md


def test_update_refuses_without_a_full_record_in_one_line_and_writes_nothing(tmp_path, capsys):
    import json

    from benchmarks.run import main

    assert main(["--update", "--only", "tvm", "--out", str(tmp_path)]) == 2
    assert "no record to update; run the full suite first (make bench)" in capsys.readouterr().err
    (tmp_path / "latest.json").write_text(json.dumps({"mode": "smoke", "suites": []}))
    assert main(["--update", "--only", "tvm", "--out", str(tmp_path)]) == 2
    assert "only re-runs suites of a full record" in capsys.readouterr().err
    assert main(["--update", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--update needs --only" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json"]
