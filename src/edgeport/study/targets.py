"""Target checks inside a study: each candidate artifact against each device profile.

``host`` is measured here; every other target gets the static check (operator coverage,
partitions, memory fit) and, where the profile allows, an *estimated* latency — never an
invented measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.study.candidate import Candidate, TargetFit

__all__ = ["StudyTarget", "check", "load_targets"]


@dataclass(frozen=True)
class StudyTarget:
    id: str
    profile: Any  # edgeport.core.target.Target
    measured_here: bool

    def summary(self) -> dict[str, Any]:
        p = self.profile
        return {"id": self.id, "name": getattr(p, "name", self.id), "kind": getattr(p, "kind", ""),
                "measured_here": self.measured_here}


def load_targets(ids: tuple[str, ...] | list[str]) -> list[StudyTarget]:
    from edgeport.core.target import get_target

    found = []
    for name in ids:
        profile = get_target(name)
        found.append(StudyTarget(profile.id, profile, profile.id == "host"))
    return found


def check(target: StudyTarget, artifact: Artifact, cand: Candidate) -> TargetFit:
    """Coverage/fit verdict of ``artifact`` on ``target`` (host: it ran here, so it runs)."""
    if target.measured_here:
        ok = cand.status == "ok"
        return TargetFit(target.id, ok, "measured on this host" if ok else f"did not run: {cand.error or cand.status}")
    try:
        from edgeport.analysis.compat import check_artifact
    except ImportError:
        return TargetFit(target.id, False, "no target analysis installed")
    try:
        report = check_artifact(artifact, target.profile)
    except Exception as exc:  # noqa: BLE001 - a format the rules do not cover is a verdict, not a crash
        return TargetFit(target.id, False, f"cannot check: {str(exc).splitlines()[0][:200]}")
    return TargetFit(target.id, bool(report.ok), str(report.verdict),
                     estimated_latency_ms=getattr(report, "estimated_latency_ms", None),
                     details={k: v for k, v in (getattr(report, "details", {}) or {}).items()})
