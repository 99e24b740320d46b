"""Target checks inside a study: each candidate artifact against each device profile.

``host`` is measured here; every other target gets the static check (operator coverage,
partitions, memory fit) and an *estimated* latency and energy (``edgeport.predict``), labelled
calibrated or uncalibrated with its interval — never an invented measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.errors import EdgeportError
from edgeport.study.candidate import Candidate, TargetFit

__all__ = ["StudyTarget", "check", "load_targets"]


@dataclass(frozen=True)
class StudyTarget:
    id: str
    profile: Any  # edgeport.core.target.Target
    measured_here: bool
    calibrations: tuple[Any, ...] = ()  # edgeport.predict Calibrations of this target from the study's store


def load_targets(ids: tuple[str, ...] | list[str], store: Any = None) -> list[StudyTarget]:
    """The study's targets, each with the calibrations ``store`` holds for it (used by its estimates)."""
    from edgeport.core.target import get_target
    from edgeport.predict.calibration import load_calibrations

    cals = load_calibrations(store)
    found = []
    for name in ids:
        profile = get_target(name)
        found.append(StudyTarget(profile.id, profile, profile.id == "host",
                                 tuple(c for c in cals if c.device == profile.id)))
    return found


def check(target: StudyTarget, artifact: Artifact, cand: Candidate) -> TargetFit:
    """Coverage/fit verdict of ``artifact`` on ``target`` (host: it ran here, so it runs)."""
    if target.measured_here:
        ok = cand.status == "ok"
        return TargetFit(target.id, ok, "measured on this host" if ok else f"did not run: {cand.error or cand.status}")
    from edgeport.graph.load import GRAPH_FORMATS
    from edgeport.runtimes.base import host_bound_reason, profile_runtimes_for

    profile = target.profile
    fmt = artifact.format.value
    usable = [r for r in profile_runtimes_for(artifact.format) if r in profile.runtimes]
    if not usable:
        why = (host_bound_reason(artifact.format)
               or f"{target.id} has no runtime for {fmt} (it has {', '.join(profile.runtimes) or 'none'})")
        return TargetFit(target.id, False, why)
    if artifact.format not in GRAPH_FORMATS:
        analysed = " and ".join(f.value for f in GRAPH_FORMATS)
        return TargetFit(target.id, True, f"{usable[0]} runs {fmt} on {target.id}; operator coverage is analysed "
                                          f"for {analysed} only", details={"runtime": usable[0]})
    from edgeport.analysis.compat import analyze
    from edgeport.analysis.memory import fit as memory_fit
    from edgeport.graph.load import load_graph

    try:
        graph = load_graph(artifact)
        compat = analyze(graph, profile, runtimes=usable, calibrations=target.calibrations)
        fits = memory_fit(graph, profile)
    except EdgeportError as exc:  # a model the rules cannot read is a verdict; a bug in the rules is not
        return TargetFit(target.id, False, f"cannot analyse: {str(exc).splitlines()[0][:200]}")
    ok = bool(compat.runs) and bool(fits.fits)
    return TargetFit(target.id, ok, f"{compat.verdict}; {fits.verdict}", estimated_latency_ms=compat.est_latency_ms,
                     estimate=compat.estimate,
                     details={"runtime": usable[0], "delegated_nodes": compat.delegated_nodes,
                              "total_nodes": compat.total_nodes, "partitions": compat.partitions,
                              "per_path": compat.per_path, "arena_bytes": fits.arena_bytes,
                              "flash_bytes": fits.flash_bytes, "fallbacks": compat.fallback_reasons,
                              "suggestions": fits.suggestions})
