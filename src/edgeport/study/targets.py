"""Target checks inside a study: each candidate artifact against each device profile.

``host`` is measured here. A target whose profile names a measuring device (``agent = …`` or
``measure = "browser"``: ``Target.measured_by``) gets the static check and then is verified and
benchmarked on that device (``measure``). Every other target gets the static check (operator
coverage, partitions, memory fit) and an *estimated* latency and energy (``edgeport.predict``),
labelled calibrated or uncalibrated with its interval — never an invented measurement.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.errors import DeviceError, EdgeportError
from edgeport.study.candidate import Candidate, LatencySummary, TargetFit, TargetMeasurement

__all__ = ["StudyTarget", "check", "load_targets", "measure", "with_measurement"]


@dataclass(frozen=True)
class StudyTarget:
    id: str
    profile: Any  # edgeport.core.target.Target
    measured_here: bool
    measured_by: str = ""  # the device address that measures this target ("" = host or estimated)
    calibrations: tuple[Any, ...] = ()  # edgeport.predict Calibrations of this target from the study's store

    @property
    def measured(self) -> bool:
        """Latency on this target is a measurement (here or on its device), not an estimate."""
        return self.measured_here or bool(self.measured_by)


def load_targets(ids: tuple[str, ...] | list[str], store: Any = None, *,
                 device: str | None = None) -> list[StudyTarget]:
    """The study's targets, each with the calibrations ``store`` holds for it (used by its estimates); ``device``
    (``optimize --device``) measures every target but the host on that device."""
    from edgeport.core.target import get_target
    from edgeport.predict.calibration import load_calibrations

    cals = load_calibrations(store)
    found = []
    for name in ids:
        profile = get_target(name)
        here = profile.id == "host"
        found.append(StudyTarget(profile.id, profile, here, "" if here else (device or profile.measured_by),
                                 tuple(c for c in cals if c.device == profile.id)))
    return found


def measure(target: StudyTarget, model: Artifact, artifact: Artifact, data: Any, cand: Candidate,
            config: Any, max_samples: int | None, cache: dict[tuple[str, ...], TargetMeasurement]) -> TargetMeasurement:
    """Verify ``artifact`` against the source and benchmark it on ``target``'s device, with the candidate's
    runtime and threads where the device offers them. Measurements are shared by candidates that would run
    the same artifact the same way there (the browser has one runtime, whatever the host candidate used)."""
    from edgeport.bench.harness import benchmark
    from edgeport.runtimes.base import device_runtime
    from edgeport.verify.compare import verify, worst_output
    from edgeport.verify.tolerance import Tolerance

    address = target.measured_by
    try:
        cls, options = device_runtime(address, runtime=cand.runtime, threads=cand.threads)
    except EdgeportError as exc:
        return TargetMeasurement(address, "", cand.threads, error=_one_line(exc))
    key = (target.id, str(artifact.path), cls.name, repr(options))
    if key in cache:
        return cache[key]
    result = TargetMeasurement(address, cls.name, getattr(options, "threads", None))
    try:
        ver = verify(model, artifact, data, tolerance=Tolerance.for_precision(cand.precision), test_runtime=cls.name,
                     test_options=options, max_samples=max_samples)
        worst = worst_output(ver.outputs)
        result.verified, result.agreement, result.max_abs = ver.passed, worst.top1_agreement, worst.max_abs
        result.verification_failures = ver.failures()
        bench = benchmark(artifact, runtime=cls.name, options=options, data=data.split("test"), config=config)
        result.latency_ms = LatencySummary.of(bench.latency_ms)
        result.load_ms = bench.load_ms
        result.runtime_info = dict(bench.runtime_info)
        result.conditions = bench.device_conditions or _to_json(bench.conditions)
    except DeviceError as exc:
        result.error, result.device_fault = _one_line(exc), True
        return result  # not cached: the device may be back for the next candidate
    except EdgeportError as exc:
        result.error = _one_line(exc)
    cache[key] = result
    return result


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:400]


def _to_json(obj: Any) -> dict[str, Any]:
    from edgeport.report.schema import to_json

    doc = to_json(obj)
    return doc if isinstance(doc, dict) else {}


def with_measurement(fit: TargetFit, m: TargetMeasurement) -> TargetFit:
    """``fit`` with the device measurement: still deployable only if it ran and verified there."""
    fit.measured = m
    if m.error is not None:
        fit.ok, fit.verdict = False, f"failed on {m.device}: {m.error}"
    elif not m.verified:
        fails = "; ".join(m.verification_failures[:2]) or "outputs differ from the source"
        fit.ok, fit.verdict = False, f"diverged on {m.device}: {fails}"
    else:
        fit.verdict = f"measured on {m.device} ({m.runtime}); {fit.verdict}"
    return fit


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
