"""``run_study``: build every installed variant, verify it on real data, measure it, check it
against each target, then map the Pareto frontier and recommend one variant per target.

Every candidate is written to the store as soon as it finishes; re-running the same study
(same model, data and options) skips finished candidates, so an interrupted study loses nothing.
A failing candidate is recorded with its error and the study goes on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset, load_dataset, random_dataset
from edgeport.errors import EdgeportError
from edgeport.study import targets as target_checks
from edgeport.study.builds import build_artifact
from edgeport.study.candidate import Candidate
from edgeport.study.options import StudyOptions
from edgeport.study.recommend import Recommendation, recommend
from edgeport.study.pareto import Point, pareto_front
from edgeport.study.variants import Variant, enumerate_builds, enumerate_variants
from edgeport.verify.tolerance import Tolerance

__all__ = ["StudyResult", "run_study"]


@dataclass
class StudyResult:
    study_id: str
    model: str
    model_format: str
    data: str
    data_note: str
    options: dict[str, Any]
    source: dict[str, Any]
    candidates: list[Candidate]
    pareto: list[str]
    recommendations: list[Recommendation]
    profile: dict[str, Any] | None = None
    targets: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)
    out_dir: str = ""
    report_html: str = ""
    report_json: str = ""
    resumed: int = 0
    seconds: float = 0.0
    constraints_met: bool = True
    kind: str = "study"

    def candidate(self, key: str) -> Candidate:
        return next(c for c in self.candidates if c.key == key)


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
    model = load_artifact(options.model)
    if options.data:
        data = load_dataset(options.data)
        note = "" if data.has_labels else "the dataset has no labels: quality is top-1 agreement with the source"
        return model, data, note
    data = random_dataset(model.inputs, count=SYNTHETIC_SAMPLES)
    return model, data, (f"no --data given: verified on {SYNTHETIC_SAMPLES} random inputs, no accuracy; "
                         "pass real data for a real study")


def study_fingerprint(model: Artifact, data: Dataset, options: StudyOptions) -> str:
    doc = {"model": model.sha256(), "data": data.source or data.name, "count": data.count,
           "options": options.fingerprint_fields()}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=str).encode()).hexdigest()[:16]


def run_study(options: StudyOptions | None = None, *, store: Any = None,
              progress: ProgressHook | None = None) -> StudyResult:
    """Run the study described by ``options`` (default: the built-in digits example on the host)."""
    from edgeport.store import Store

    options = options or StudyOptions()
    started = time.perf_counter()
    store = store or Store()
    model, data, note = _resolve_inputs(options)
    study_id = study_fingerprint(model, data, options)
    out_dir = Path(options.out_dir or Path("edgeport-out") / model.path.stem.split("-")[0])
    (out_dir / "variants").mkdir(parents=True, exist_ok=True)
    targets = target_checks.load_targets(options.targets)

    source_info = _measure_source(model, data)
    builds = enumerate_builds(model.format, have_data=data.source != "random", formats=list(options.formats),
                              precisions=list(options.precisions))
    variants = enumerate_variants(builds, list(options.threads), list(options.runtimes) or None)
    done = store.candidates(study_id) if options.resume else {}
    candidates: list[Candidate] = []
    artifacts: dict[str, Artifact | EdgeportError | Exception] = {}
    resumed = 0
    total = len(variants)
    for i, variant in enumerate(variants):
        if progress:
            progress(variant.key, i, total)
        if variant.key in done:
            cand = Candidate.from_json(done[variant.key][1])
            if _add_missing_target_checks(cand, targets):
                store.save_candidate(study_id, variant.key, cand.status, _to_json(cand))
            candidates.append(cand)
            resumed += 1
            continue
        cand = _run_candidate(variant, model, data, options, out_dir, artifacts, targets)
        store.save_candidate(study_id, variant.key, cand.status, _to_json(cand))
        candidates.append(cand)
    if progress:
        progress("done", total, total)

    points = [Point(c.key, c.quality() or 0.0, c.median_ms or float("inf"), c.size_bytes or 0)
              for c in candidates if c.status == "ok" and c.median_ms is not None]
    front = pareto_front(points)
    recs = recommend(candidates, targets, options.constraints, source_info)
    from edgeport.bench.conditions import capture

    result = StudyResult(
        study_id=study_id, model=str(model.path), model_format=model.format.value,
        data=data.source or data.name, data_note=note, options=dataclasses.asdict(options), source=source_info,
        candidates=candidates, pareto=front, recommendations=recs, profile=_profile(model),
        targets={t.id: t.summary() for t in targets}, conditions=_conditions(capture),
        out_dir=str(out_dir), resumed=resumed, constraints_met=any(r.key for r in recs if r.measured),
        seconds=time.perf_counter() - started)
    _write_reports(result, out_dir)
    return result


def _to_json(obj: Any) -> dict[str, Any]:
    from edgeport.report.schema import to_json

    doc = to_json(obj)
    assert isinstance(doc, dict)
    return doc


def _measure_source(model: Artifact, data: Dataset) -> dict[str, Any]:
    from edgeport.runtimes.base import open_runtime, run_dataset
    from edgeport.verify import metrics

    test = data.split("test")
    info: dict[str, Any] = {"path": str(model.path), "format": model.format.value, "size_bytes": model.size_bytes(),
                            "samples": test.count}
    try:
        with open_runtime(model) as rt:
            outputs = run_dataset(rt, test)
            info["runtime"] = rt.name
    except EdgeportError as exc:
        info["error"] = str(exc)
        return info
    first = next(iter(outputs.values()))
    info["accuracy"] = metrics.accuracy(first, test.labels) if test.labels is not None else None
    return info


def _run_candidate(variant: Variant, model: Artifact, data: Dataset, options: StudyOptions, out_dir: Path,
                   artifacts: dict[str, Any], targets: list[Any]) -> Candidate:
    from edgeport.bench.harness import BenchmarkConfig, benchmark
    from edgeport.runtimes import RUNTIMES
    from edgeport.verify.compare import verify

    start = time.perf_counter()
    build = variant.build
    cand = Candidate(key=variant.key, build=build.key, format=build.format, precision=build.precision,
                     runtime=variant.runtime, threads=variant.threads)
    try:
        built: Artifact | Exception = build_artifact(build, model, data, out_dir / "variants", artifacts)
    except Exception as exc:  # noqa: BLE001 - a failing candidate is recorded and the study goes on
        built = exc
    if isinstance(built, Exception):
        cand.status, cand.stage, cand.error = "failed", "build", _one_line(built)
        cand.seconds = time.perf_counter() - start
        return cand
    art: Artifact = built
    cand.artifact = str(art.path)
    cand.size_bytes = art.size_bytes()
    cand.lineage = [{"path": str(a.path), "format": a.format.value,
                     "step": None if a.step is None else {"kind": a.step.kind, "name": a.step.name,
                                                         "options": dict(a.step.options)}}
                    for a in art.lineage()]
    rt_cls = RUNTIMES.get(variant.runtime)
    rt_options = rt_cls.Options(threads=variant.threads)
    stage = "verify"
    try:
        tolerance = Tolerance.for_precision(build.precision)
        ver = verify(model, art, data, tolerance=tolerance, test_runtime=variant.runtime, test_options=rt_options,
                     max_samples=options.max_verify_samples)
        worst = min(ver.outputs, key=lambda o: o.cosine)
        cand.accuracy = ver.test_accuracy
        cand.accuracy_delta = ver.accuracy_delta
        cand.agreement = worst.top1_agreement
        cand.max_abs, cand.cosine, cand.snr_db = worst.max_abs, worst.cosine, worst.snr_db
        cand.verified = ver.passed
        cand.verification_failures = ver.failures()
        stage = "bench"
        s = options.bench
        cfg = BenchmarkConfig(warmup_runs=s.warmup_runs, min_runs=s.min_runs, min_duration_s=s.min_seconds,
                              max_runs=s.max_runs, max_duration_s=s.max_seconds)
        bench = benchmark(art, runtime=variant.runtime, options=rt_options, data=data.split("test"), config=cfg)
        lat = bench.latency_ms
        cand.latency_ms = {"median": lat.median, "p90": lat.p90, "p99": lat.p99, "mean": lat.mean,
                           "ci95_low": lat.ci95_low, "ci95_high": lat.ci95_high, "cv": lat.cv}
        samples = list(bench.samples_ms)
        step = max(1, len(samples) // 200)
        cand.latency_samples_ms = [round(v, 5) for v in samples[::step]]
        cand.throughput = bench.throughput
        cand.load_ms = bench.load_ms
        cand.peak_rss_mb = bench.peak_rss_delta_mb
        cand.runtime_info = dict(bench.runtime_info)
        cand.status = "ok" if ver.passed else "diverged"
    except Exception as exc:  # noqa: BLE001
        cand.status, cand.stage, cand.error = "failed", stage, _one_line(exc)
    cand.targets = {t.id: target_checks.check(t, art, cand) for t in targets}
    cand.seconds = time.perf_counter() - start
    return cand


def _add_missing_target_checks(cand: Candidate, targets: list[Any]) -> bool:
    """Check a resumed candidate against targets added since it was measured; True if any was added."""
    missing = [t for t in targets if t.id not in cand.targets]
    if not missing or not cand.artifact or not Path(cand.artifact).exists():
        return False
    art = load_artifact(cand.artifact, format=Format(cand.format))
    for t in missing:
        cand.targets[t.id] = target_checks.check(t, art, cand)
    return True




def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:400]


def _profile(model: Artifact) -> dict[str, Any] | None:
    try:
        from edgeport.analysis.profile import profile
        from edgeport.report.schema import to_json

        doc = to_json(profile(model))
        return doc if isinstance(doc, dict) else None
    except Exception as exc:  # noqa: BLE001 - the report shows the profile when it can
        return {"error": _one_line(exc)}


def _conditions(record: Callable[..., Any]) -> dict[str, Any]:
    from edgeport.report.schema import to_json

    doc = to_json(record())
    return doc if isinstance(doc, dict) else {}


def _write_reports(result: StudyResult, out_dir: Path) -> None:
    from edgeport.report.files import write_report

    result.report_json = str(out_dir / "report.json")
    result.report_html = str(out_dir / "report.html")
    write_report("study", result, Path(result.report_json), Path(result.report_html))
