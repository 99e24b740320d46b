"""A study set up and finished: everything about one model's study that does not depend on what runs its
candidates (this process, or a Ray cluster: ``study.ray_executor``).

``plan_study`` resolves the model and data, enumerates the variants, fingerprints the study, measures the
source and reads what the store already holds; ``finish_study`` maps the Pareto frontier, recommends and
writes the reports once every candidate is done. ``target_fit`` is the one way a candidate is checked
against a target (and measured on the target's own device through the given ``Measure``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset, load_dataset
from edgeport.data.synthetic import synthetic_data
from edgeport.errors import EdgeportError
from edgeport.study import targets as target_checks
from edgeport.study.candidate import Candidate, TargetFit, TargetMeasurement
from edgeport.study.fingerprint import backend_versions, study_fingerprint
from edgeport.study.options import StudyOptions
from edgeport.study.pareto import Point, pareto_front
from edgeport.study.recommend import recommend
from edgeport.study.result import SourceInfo, StudyResult, TargetSummary
from edgeport.study.stages import bench_config, one_line
from edgeport.study.variants import Variant, enumerate_builds, enumerate_variants

__all__ = ["SYNTHETIC_SAMPLES", "Measure", "ProgressHook", "StudyPlan", "add_missing_target_checks", "finish_study",
           "plan_study", "target_fit", "to_json_doc"]

ProgressHook = Callable[[str, int, int], None]  # (candidate key or "done", steps done, steps in all)

# Without --data the study verifies on random inputs: they measure agreement with the source, not
# accuracy, and more of them add little but time (a slow candidate runs every one of them).
SYNTHETIC_SAMPLES = 16


def _resolve_inputs(options: StudyOptions) -> tuple[Artifact, Dataset, str]:
    if options.model is None:
        from edgeport.data.examples import digits, digits_model_path

        model = load_artifact(digits_model_path())
        data = load_dataset(options.data) if options.data else digits()
        return model, data, ""
    model = load_artifact(options.model).with_inputs(options.inputs)
    if options.data:
        data = load_dataset(options.data)
        note = "" if data.has_labels else "the dataset has no labels: quality is top-1 agreement with the source"
        return model, data, note
    data = synthetic_data(model, count=SYNTHETIC_SAMPLES)
    return model, data, (f"no --data given: verified on {SYNTHETIC_SAMPLES} random inputs, no accuracy; "
                         "pass real data for a real study")


@dataclass
class StudyPlan:
    """One model's study, set up and ready to run: its inputs, variants, targets, and what the store already
    holds (``done``: candidate key → stored status and document). Every executor runs plans."""

    options: StudyOptions
    model: Artifact
    data: Dataset
    note: str
    variants: list[Variant]
    study_id: str
    out_dir: Path
    targets: list[target_checks.StudyTarget]
    source: SourceInfo
    done: dict[str, tuple[str, dict[str, Any]]]
    started: float = field(default_factory=time.perf_counter)
    store: Any = None  # where the study's candidates and the calibrations it adds to are kept

    def measure_serially(self) -> Measure:
        """Device measurements made from this process (shared by candidates that run the same way there)."""
        measured: dict[Any, Any] = {}
        config = bench_config(self.options)

        def measure(target: target_checks.StudyTarget, art: Artifact, cand: Candidate) -> TargetMeasurement:
            return target_checks.measure(target, self.model, art, self.data, cand, config,
                                         self.options.max_verify_samples, measured)
        return measure


Measure = Callable[[target_checks.StudyTarget, Artifact, Candidate], TargetMeasurement]


def plan_study(options: StudyOptions, store: Any) -> StudyPlan:
    """Resolve the model and data, enumerate the variants, fingerprint the study and measure the source."""
    started = time.perf_counter()
    model, data, note = _resolve_inputs(options)
    builds = enumerate_builds(model.format, have_data=data.source != "random", formats=list(options.formats),
                              precisions=list(options.precisions))
    variants = enumerate_variants(builds, list(options.threads), list(options.runtimes) or None)
    study_id = study_fingerprint(model, data, options, variants)
    out_dir = Path(options.out_dir or Path("edgeport-out") / model.path.stem.split("-")[0])
    (out_dir / "variants").mkdir(parents=True, exist_ok=True)
    targets = target_checks.load_targets(options.targets, store, device=options.device)
    source = _measure_source(model, data)
    done = store.candidates(study_id) if options.resume else {}
    return StudyPlan(options, model, data, note, variants, study_id, out_dir, targets, source, done, started,
                     store=store)


def finish_study(plan: StudyPlan, candidates: list[Candidate], resumed: int,
                 phases: dict[str, float]) -> StudyResult:
    """The Pareto frontier, the recommendations and the reports of a study whose candidates are all done."""
    from edgeport.bench.conditions import capture

    options = plan.options
    points = [Point(c.key, c.quality() or 0.0, c.median_ms or float("inf"), c.size_bytes or 0)
              for c in candidates if c.status == "ok" and c.median_ms is not None]
    front = pareto_front(points)
    recs = recommend(candidates, plan.targets, options.constraints, plan.source.accuracy)
    profile, profile_error = _profile(plan.model)
    calibration = calibrate_from(plan, candidates) if options.calibrate else []
    result = StudyResult(
        study_id=plan.study_id, model=str(plan.model.path), model_format=plan.model.format.value,
        data=plan.data.source or plan.data.name, data_note=plan.note, options=options, source=plan.source,
        candidates=candidates, pareto=front, recommendations=recs, profile=profile, profile_error=profile_error,
        targets={t.id: _target_summary(t) for t in plan.targets}, conditions=capture(),
        backends=backend_versions(plan.model.format, plan.variants), out_dir=str(plan.out_dir), resumed=resumed,
        constraints_met=any(r.key for r in recs if r.measured), seconds=time.perf_counter() - plan.started,
        phase_seconds={k: round(v, 3) for k, v in phases.items()}, calibration=calibration)
    _write_reports(result, plan.out_dir)
    return result


def calibrate_from(plan: StudyPlan, candidates: list[Candidate]) -> list[str]:
    """Add every verified candidate measured on the host or on a target's device to the stored calibration of
    that device, runtime, precision and thread count (``predict.calibrate.add_measurements``); the lines it
    reports. A candidate's cost-model rows come from its own file when the graph loader reads it (ONNX,
    TFLite), else from the newest such file of its lineage when the candidate is fp32 (an OpenVINO IR
    converted from the ONNX source computes the source's graph; a quantized one does not)."""
    from edgeport.graph.load import GRAPH_FORMATS
    from edgeport.predict.calibrate import DEVICE_RUNTIME_ON, Measurement, add_measurements
    from edgeport.runtimes.base import device_scheme

    graph_formats = {f.value for f in GRAPH_FORMATS}
    stem = plan.model.path.stem
    found: list[Measurement] = []
    for c in candidates:
        if not c.verified:
            continue
        own = c.format in graph_formats and c.artifact
        graphs = [c.artifact] if own else [e.path for e in reversed(c.lineage)
                                           if e.format in graph_formats and c.precision == "fp32"]
        graphs = [g for g in graphs if g and Path(g).exists()]
        if not graphs:
            continue
        name, graph = f"study:{stem}:{c.key}", Path(graphs[0])
        host_ms = c.latency_ms.min or c.median_ms  # the fastest run, as calibrate times (median: stored before it)
        if host_ms is not None and c.status == "ok":
            found.append(Measurement("host", c.runtime, c.threads, name, graph, host_ms / 1e3))
        for target, fit in c.targets.items():
            m = fit.measured
            if m is not None and m.verified and fit.measured_ms is not None:
                runtime = DEVICE_RUNTIME_ON.get(device_scheme(m.device)) or c.runtime
                found.append(Measurement(target, runtime, m.threads, name, graph, fit.measured_ms / 1e3))
    return add_measurements(found, plan.store)


def to_json_doc(obj: Any) -> dict[str, Any]:
    from edgeport.report.schema import to_json

    doc = to_json(obj)
    assert isinstance(doc, dict)
    return doc


def _measure_source(model: Artifact, data: Dataset) -> SourceInfo:
    from edgeport.runtimes.base import open_runtime, run_dataset
    from edgeport.verify import metrics

    test = data.split("test")
    info = SourceInfo(path=str(model.path), format=model.format.value, size_bytes=model.size_bytes(),
                      samples=test.count)
    try:
        with open_runtime(model) as rt:
            outputs = run_dataset(rt, test)
            info.runtime = rt.name
    except EdgeportError as exc:
        info.error = str(exc)
        return info
    first = next(iter(outputs.values()))
    info.accuracy = metrics.accuracy(first, test.labels) if test.labels is not None else None
    return info


def _target_summary(target: target_checks.StudyTarget) -> TargetSummary:
    p = target.profile
    return TargetSummary(target.id, getattr(p, "name", target.id), getattr(p, "kind", ""), target.measured_here,
                         target.measured_by)


def target_fit(target: target_checks.StudyTarget, art: Artifact, cand: Candidate, measure: Measure) -> TargetFit:
    """The static check of ``art`` on ``target``, then — on a target with its own measuring device, when the
    check passes — its verification and benchmark there (``measure``)."""
    fit = target_checks.check(target, art, cand)
    if not target.measured_by or not fit.ok:
        return fit
    return target_checks.with_measurement(fit, measure(target, art, cand))


def add_missing_target_checks(cand: Candidate, targets: list[Any], measure: Measure) -> bool:
    """Check a resumed candidate against targets added since it was measured, and measure it again where its
    device failed last time; True if anything changed."""
    redo = [t for t in targets if t.id not in cand.targets or _device_failed(cand.targets[t.id])
            or _measured_elsewhere(cand.targets[t.id], t)]
    if not redo or not cand.artifact or not Path(cand.artifact).exists():
        return False
    art = load_artifact(cand.artifact, format=Format(cand.format))
    for t in redo:
        cand.targets[t.id] = target_fit(t, art, cand, measure)
    return True


def _device_failed(fit: Any) -> bool:
    return fit.measured is not None and fit.measured.device_fault


def _measured_elsewhere(fit: Any, target: target_checks.StudyTarget) -> bool:
    """The stored fit was measured on another device than the one measuring ``target`` now, or it passed the
    static check without a measurement that the target now has a device for (``--device`` changed)."""
    if target.measured_here:
        return False
    if fit.measured is not None:
        return bool(fit.measured.device != target.measured_by)
    return bool(target.measured_by) and bool(fit.ok)


def _profile(model: Artifact) -> tuple[Any, str | None]:
    """The source's profile, or why it has none (the report shows it when it can)."""
    from edgeport.analysis.profile import profile

    try:
        return profile(model), None
    except EdgeportError as exc:
        return None, one_line(exc)


def _write_reports(result: StudyResult, out_dir: Path) -> None:
    from edgeport.report.files import write_report

    result.report_json = str(out_dir / "report.json")
    result.report_html = str(out_dir / "report.html")
    write_report("study", result, Path(result.report_json), Path(result.report_html))
