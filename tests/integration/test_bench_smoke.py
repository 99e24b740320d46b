"""``benchmarks/run.py --smoke`` keeps working: it writes latest.json, a dated copy and RESULTS.md."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("onnxruntime")
pytest.importorskip("torch")


@pytest.mark.slow
def test_smoke_run_writes_results(tmp_path):
    out = tmp_path / "results"
    env = dict(os.environ, EDGEPORT_STORE=str(tmp_path / "store.db"))
    proc = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "run.py"), "--smoke", "--out", str(out)],
                          capture_output=True, text=True, timeout=600, cwd=tmp_path, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]

    latest = json.loads((out / "latest.json").read_text())
    dated = sorted(p.name for p in out.glob("????-??-??.json"))
    assert dated == [f"{latest['date']}.json"]
    assert json.loads((out / dated[0]).read_text()) == latest
    assert latest["schema"] == "edgeport/benchmark-suite" and latest["mode"] == "smoke"
    assert isinstance(latest["loaded"], bool)

    suites = {s["name"]: s for s in latest["suites"]}
    assert set(suites) >= {"hardware_limit", "digits", "reference_models", "harness_honesty", "repeatability",
                           "tool_speed"}
    assert all(s["error"] is None for s in suites.values()), {n: s["error"] for n, s in suites.items()}

    # every table carries the conditions it was measured under
    for suite in suites.values():
        for table in suite["tables"]:
            assert table["conditions"] is not None, table["title"]
            assert table["conditions"]["cpu_model"] and table["conditions"]["load_before"] is not None

    # digits: PyTorch eager and ONNX Runtime measured at 1 and 2 threads, with real accuracy
    digits_tables = suites["digits"]["tables"]
    assert len(digits_tables) == 2
    for table in digits_tables:
        rows = {(r["runtime"], r["precision"]): r for r in table["rows"]}
        assert ("torch", "fp32") in rows and ("onnxruntime", "fp32") in rows
        for row in rows.values():
            assert row["median_ms"] > 0 and row["p99_ms"] >= min(row["block_medians_ms"])
            assert row["ratio"] >= 1.0
        assert min(r["ratio"] for r in rows.values()) == pytest.approx(1.0)
        assert rows[("onnxruntime", "fp32")]["accuracy"] >= 0.97
        assert rows[("torch", "fp32")]["accuracy"] == pytest.approx(rows[("onnxruntime", "fp32")]["accuracy"],
                                                                    abs=1 / 360)
    skipped = " ".join(s["what"] + " " + s["reason"] for s in suites["digits"]["skipped"])
    assert "smoke mode" in skipped  # the other installed stacks are listed with the reason

    peaks = {r["key"]: r["gops"] for r in suites["hardware_limit"]["tables"][-1]["rows"]}
    assert peaks.get("fp32@1", 0) > 0 and peaks.get("int8@1", 0) > 0

    honesty = suites["harness_honesty"]["tables"][0]["rows"][0]
    assert honesty["edgeport_median_ms"] > 0 and honesty["bare_median_ms"] > 0

    targets = {t["name"] for s in suites.values() for t in s["targets"]}
    assert any("--help" in t for t in targets) and any("CV of the median" in t for t in targets)

    md = (out / "RESULTS.md").read_text()
    assert md.startswith("# edgeport benchmark results")
    assert "Smoke run" in md and "## Targets" in md and "conditions:" in md
    if latest["loaded"]:
        assert "loaded machine" in md.lower()
