"""The study's energy budget and the estimate's round trip through the stored candidate document."""

from __future__ import annotations

from edgeport.cli.optimize import study_options
from edgeport.predict.estimate import Estimate
from edgeport.report.schema import to_json
from edgeport.study.candidate import Candidate, TargetFit
from edgeport.study.options import Constraints
from edgeport.study.recommend import recommend
from edgeport.study.targets import StudyTarget


def _candidate(key: str, mj: float) -> Candidate:
    est = Estimate(mj / 5, mj / 25, mj, "uncalibrated estimate (within ~5×)", False, 0, None, "fp32",
                   energy_mj=mj, energy_low_mj=mj / 5, energy_high_mj=mj * 5,
                   energy_label="estimate: latency × 5 W profile active power")
    return Candidate(key=key, build=key, format="onnx", precision="fp32", runtime="onnxruntime", threads=1,
                     status="ok", agreement=1.0, size_bytes=1000,
                     targets={"pixel-8": TargetFit("pixel-8", True, "runs", est.latency_ms, estimate=est)})


def test_energy_budget_rejects_estimates_over_it():
    cands = [_candidate("hungry", 3.0), _candidate("frugal", 0.5)]
    (rec,) = recommend(cands, [StudyTarget("pixel-8", None, False)], Constraints(max_energy_mj=1.0), None)
    assert rec.key == "frugal" and rec.energy_mj == 0.5 and rec.estimate is not None
    assert rec.energy_label.startswith("estimate: latency × 5 W")
    why = {r.key: r.reason for r in rec.rejected}
    assert why["hungry"] == "over budget: energy 3 mJ/inference (estimated) > 1.0 mJ"


def test_estimate_survives_the_stored_document():
    cand = _candidate("a", 2.0)
    back = Candidate.from_json(to_json(cand))
    assert back.targets["pixel-8"].estimate == cand.targets["pixel-8"].estimate


def test_max_energy_flag_reaches_the_constraints():
    assert study_options(None, max_energy_mj=2.5).constraints.max_energy_mj == 2.5
