"""A target measured on its own device is ranked by the latency measured there, never by the host's; a
candidate not measured there (or failed there) does not qualify, and the latency budget applies there."""

from __future__ import annotations

from edgeport.study.candidate import Candidate, LatencySummary, TargetFit, TargetMeasurement
from edgeport.study.options import Constraints
from edgeport.study.recommend import recommend
from edgeport.study.targets import StudyTarget, with_measurement

DEVICE = "agent://127.0.0.1:8787"


def _cand(key: str, host_ms: float, device_ms: float | None, error: str | None = None) -> Candidate:
    fit = TargetFit("pi", True, "runs")
    m = TargetMeasurement(DEVICE, "remote", 1, LatencySummary(median=device_ms), verified=error is None, error=error)
    return Candidate(key, key, "onnx", "fp32", "onnxruntime", 1, status="ok", agreement=1.0,
                     latency_ms=LatencySummary(median=host_ms), targets={"pi": with_measurement(fit, m)})


def test_the_device_latency_ranks_and_the_budget_applies_there() -> None:
    target = StudyTarget("pi", None, False, DEVICE)
    fast_here = _cand("a", host_ms=0.1, device_ms=5.0)
    fast_there = _cand("b", host_ms=0.3, device_ms=2.0)
    broken = _cand("c", host_ms=0.05, device_ms=None, error="DeviceError: the agent went away")
    (rec,) = recommend([fast_here, fast_there, broken], [target], Constraints(), None)
    assert rec.key == "b" and rec.measured and rec.latency_ms == 2.0 and DEVICE in rec.reason
    why = {r.key: r.reason for r in rec.rejected}
    assert "5.0000 ms vs 2.0000 ms" in why["a"] and "the agent went away" in why["c"]
    (none,) = recommend([fast_here, fast_there], [target], Constraints(max_latency_ms=1.0), None)
    assert none.key is None and "latency 2.000 ms > 1.0 ms" in {r.key: r.reason for r in none.rejected}["b"]
