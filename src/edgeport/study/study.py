"""``run_study``: build every installed variant, verify it on real data, measure it, check it
against each target, then map the Pareto frontier and recommend one variant per target.

Every candidate is written to the store as soon as it finishes; re-running the same study
(same model bytes, data content, options, edgeport and backend versions: ``study.fingerprint``)
skips finished candidates, so an interrupted study loses nothing. A candidate that fails with an
``EdgeportError`` is recorded with its reason and the study goes on; any other exception is a bug
and stops the study with its traceback.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset, load_dataset
from edgeport.data.synthetic import synthetic_data
from edgeport.errors import EdgeportError
from edgeport.study import targets as target_checks
from edgeport.study.builds import build_artifact, prebuild
from edgeport.study.candidate import Candidate, LatencySummary, LineageEntry
from edgeport.study.fingerprint import backend_versions, study_fingerprint
from edgeport.study.options import StudyOptions
from edgeport.study.pareto import Point, pareto_front
from edgeport.study.recommend import recommend
from edgeport.study.result import SourceInfo, StudyResult, TargetSummary
from edgeport.study.variants import Variant, enumerate_builds, enumerate_variants
from edgeport.verify.tolerance import Tolerance

__all__ = ["StudyResult", "run_study", "study_fingerprint"]


ProgressHook = Callable[[str, int, int], None]

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


def run_study(options: StudyOptions | None = None, *, store: Any = None,
              progress: ProgressHook | None = None) -> StudyResult:
    """Run the study described by ``options`` (default: the built-in digits example on the default targets)."""
    from edgeport.store import Store

    options = options or StudyOptions()
    started = time.perf_counter()
    store = store or Store()
    model, data, note = _resolve_inputs(options)
    builds = enumerate_builds(model.format, have_data=data.source != "random", formats=list(options.formats),
                              precisions=list(options.precisions))
    variants = enumerate_variants(builds, list(options.threads), list(options.runtimes) or None)
    study_id = study_fingerprint(model, data, options, variants)
    out_dir = Path(options.out_dir or Path("edgeport-out") / model.path.stem.split("-")[0])
    (out_dir / "variants").mkdir(parents=True, exist_ok=True)
    targets = target_checks.load_targets(options.targets, store, device=options.device)

    source_info = _measure_source(model, data)
    done = store.candidates(study_id) if options.resume else {}
    candidates: list[Candidate] = []
    artifacts: dict[str, Artifact | Exception] = {}
    workers = options.build_workers if options.build_workers is not None else min(2, os.cpu_count() or 1)
    prebuild([v.build for v in variants if v.key not in done], model, data, out_dir / "variants", artifacts, workers)
    resumed = 0
    measured: dict[Any, Any] = {}  # device measurements shared by candidates that run the same way there
    total = len(variants)
    for i, variant in enumerate(variants):
        if progress:
            progress(variant.key, i, total)
        if variant.key in done:
            cand = Candidate.from_json(done[variant.key][1])
            if _add_missing_target_checks(cand, targets, model, data, options, measured):
                store.save_candidate(study_id, variant.key, cand.status, _to_json(cand))
            candidates.append(cand)
            resumed += 1
            continue
        cand = _run_candidate(variant, model, data, options, out_dir, artifacts, targets, measured)
        store.save_candidate(study_id, variant.key, cand.status, _to_json(cand))
        candidates.append(cand)
    if progress:
        progress("done", total, total)

    points = [Point(c.key, c.quality() or 0.0, c.median_ms or float("inf"), c.size_bytes or 0)
              for c in candidates if c.status == "ok" and c.median_ms is not None]
    front = pareto_front(points)
    recs = recommend(candidates, targets, options.constraints, source_info.accuracy)
    from edgeport.bench.conditions import capture

    profile, profile_error = _profile(model)
    result = StudyResult(
        study_id=study_id, model=str(model.path), model_format=model.format.value,
        data=data.source or data.name, data_note=note, options=options, source=source_info,
        candidates=candidates, pareto=front, recommendations=recs, profile=profile, profile_error=profile_error,
        targets={t.id: _target_summary(t) for t in targets}, conditions=capture(),
        backends=backend_versions(model.format, variants), out_dir=str(out_dir), resumed=resumed,
        constraints_met=any(r.key for r in recs if r.measured), seconds=time.perf_counter() - started)
    _write_reports(result, out_dir)
    return result


def _to_json(obj: Any) -> dict[str, Any]:
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


def _run_candidate(variant: Variant, model: Artifact, data: Dataset, options: StudyOptions, out_dir: Path,
                   artifacts: dict[str, Any], targets: list[Any], measured: dict[Any, Any]) -> Candidate:
    from edgeport.bench.harness import benchmark
    from edgeport.predict.energy import host_energy
    from edgeport.runtimes import RUNTIMES
    from edgeport.verify.compare import verify, worst_output

    start = time.perf_counter()
    build = variant.build
    cand = Candidate(key=variant.key, build=build.key, format=build.format, precision=build.precision,
                     runtime=variant.runtime, threads=variant.threads)
    try:
        art = build_artifact(build, model, data, out_dir / "variants", artifacts)
    except EdgeportError as exc:  # a failing candidate is recorded and the study goes on; a bug stops it
        cand.status, cand.stage, cand.error = "failed", "build", _one_line(exc)
        cand.seconds = time.perf_counter() - start
        return cand
    cand.artifact = str(art.path)
    cand.size_bytes = art.size_bytes()
    cand.lineage = [LineageEntry.of(a) for a in art.lineage()]
    rt_cls = RUNTIMES.get(variant.runtime)
    rt_options = rt_cls.Options(threads=variant.threads)
    stage = "verify"
    try:
        tolerance = Tolerance.for_precision(build.precision)
        ver = verify(model, art, data, tolerance=tolerance, test_runtime=variant.runtime, test_options=rt_options,
                     max_samples=options.max_verify_samples)
        worst = worst_output(ver.outputs)
        cand.accuracy = ver.test_accuracy
        cand.accuracy_delta = ver.accuracy_delta
        cand.agreement = worst.top1_agreement
        cand.max_abs, cand.cosine, cand.snr_db = worst.max_abs, worst.cosine, worst.snr_db
        cand.verified = ver.passed
        cand.verification_failures = ver.failures()
        stage = "bench"
        bench = benchmark(art, runtime=variant.runtime, options=rt_options, data=data.split("test"),
                          config=_bench_config(options))
        cand.latency_ms = LatencySummary.of(bench.latency_ms)
        samples = list(bench.samples_ms)
        step = max(1, len(samples) // 200)
        cand.latency_samples_ms = [round(v, 5) for v in samples[::step]]
        cand.throughput = bench.throughput
        cand.load_ms = bench.load_ms
        cand.peak_rss_mb = bench.peak_rss_delta_mb
        cand.runtime_info = dict(bench.runtime_info)
        energy = host_energy(art, variant.runtime, rt_options, data.split("test"))
        cand.energy_mj, cand.energy_label = energy.mj_per_inference, energy.label
        cand.status = "ok" if ver.passed else "diverged"
    except EdgeportError as exc:  # recorded with its reason; anything else is a bug and stops the study
        cand.status, cand.stage, cand.error = "failed", stage, _one_line(exc)
    cand.targets = {t.id: _target_fit(t, model, art, data, options, cand, measured) for t in targets}
    cand.seconds = time.perf_counter() - start
    return cand


def _target_fit(target: target_checks.StudyTarget, model: Artifact, art: Artifact, data: Dataset,
                options: StudyOptions, cand: Candidate, measured: dict[Any, Any]) -> Any:
    """The static check of ``art`` on ``target``, then — on a target with its own measuring device, when the
    check passes — its verification and benchmark there."""
    fit = target_checks.check(target, art, cand)
    if not target.measured_by or not fit.ok:
        return fit
    m = target_checks.measure(target, model, art, data, cand, _bench_config(options), options.max_verify_samples,
                              measured)
    return target_checks.with_measurement(fit, m)


def _bench_config(options: StudyOptions) -> Any:
    from edgeport.bench.harness import BenchmarkConfig

    s = options.bench
    return BenchmarkConfig(warmup_runs=s.warmup_runs, min_runs=s.min_runs, min_duration_s=s.min_seconds,
                           max_runs=s.max_runs, max_duration_s=s.max_seconds)


def _add_missing_target_checks(cand: Candidate, targets: list[Any], model: Artifact, data: Dataset,
                               options: StudyOptions, measured: dict[Any, Any]) -> bool:
    """Check a resumed candidate against targets added since it was measured, and measure it again where its
    device failed last time; True if anything changed."""
    redo = [t for t in targets if t.id not in cand.targets or _device_failed(cand.targets[t.id])
            or _measured_elsewhere(cand.targets[t.id], t)]
    if not redo or not cand.artifact or not Path(cand.artifact).exists():
        return False
    art = load_artifact(cand.artifact, format=Format(cand.format))
    for t in redo:
        cand.targets[t.id] = _target_fit(t, model, art, data, options, cand, measured)
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




def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:400]


def _profile(model: Artifact) -> tuple[Any, str | None]:
    """The source's profile, or why it has none (the report shows it when it can)."""
    from edgeport.analysis.profile import profile

    try:
        return profile(model), None
    except EdgeportError as exc:
        return None, _one_line(exc)


def _write_reports(result: StudyResult, out_dir: Path) -> None:
    from edgeport.report.files import write_report

    result.report_json = str(out_dir / "report.json")
    result.report_html = str(out_dir / "report.html")
    write_report("study", result, Path(result.report_json), Path(result.report_html))
