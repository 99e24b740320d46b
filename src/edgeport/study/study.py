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
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.errors import EdgeportError
from edgeport.study.builds import build_artifact, prebuild
from edgeport.study.candidate import Candidate
from edgeport.study.fingerprint import study_fingerprint
from edgeport.study.options import StudyOptions
from edgeport.study.plan import (
    SYNTHETIC_SAMPLES,
    Measure,
    ProgressHook,
    StudyPlan,
    add_missing_target_checks,
    finish_study,
    plan_study,
    target_fit,
    to_json_doc,
)
from edgeport.study.result import StudyResult
from edgeport.study.stages import bench_config, bench_stage, build_failed, new_candidate, one_line, record_build, \
    verify_stage
from edgeport.study.variants import Variant

__all__ = ["SYNTHETIC_SAMPLES", "ProgressHook", "StudyResult", "run_study", "study_fingerprint"]


def run_study(options: StudyOptions | None = None, *, store: Any = None,
              progress: ProgressHook | None = None) -> StudyResult:
    """Run the study described by ``options`` (default: the built-in digits example on the default targets):
    in this process, or on Ray with ``executor="ray"`` (``study.ray_executor``)."""
    from edgeport.store import Store

    options = options or StudyOptions()
    store = store or Store()
    if options.executor == "ray":
        from edgeport.study.ray_executor import run_on_ray

        return run_on_ray([options], store, progress)[0]
    return _run_serial(plan_study(options, store), store, progress)


def _run_serial(plan: StudyPlan, store: Any, progress: ProgressHook | None) -> StudyResult:
    options, model, data = plan.options, plan.model, plan.data
    phases = {"build+verify": 0.0, "benchmark": 0.0, "targets": 0.0}
    candidates: list[Candidate] = []
    artifacts: dict[str, Artifact | Exception] = {}
    workers = options.build_workers if options.build_workers is not None else min(2, os.cpu_count() or 1)
    start = time.perf_counter()
    prebuild([v.build for v in plan.variants if v.key not in plan.done], model, data, plan.out_dir / "variants",
             artifacts, workers)
    phases["build+verify"] += time.perf_counter() - start
    measure = plan.measure_serially()
    resumed = 0
    total = len(plan.variants)
    for i, variant in enumerate(plan.variants):
        if progress:
            progress(variant.key, i, total)
        if variant.key in plan.done:
            cand = Candidate.from_json(plan.done[variant.key][1])
            if add_missing_target_checks(cand, plan.targets, measure):
                store.save_candidate(plan.study_id, variant.key, cand.status, to_json_doc(cand))
            candidates.append(cand)
            resumed += 1
            continue
        cand = _run_candidate(variant, plan, artifacts, measure, phases)
        store.save_candidate(plan.study_id, variant.key, cand.status, to_json_doc(cand))
        candidates.append(cand)
    if progress:
        progress("done", total, total)
    return finish_study(plan, candidates, resumed, phases)


def _run_candidate(variant: Variant, plan: StudyPlan, artifacts: dict[str, Any], measure: Measure,
                   phases: dict[str, float]) -> Candidate:
    start = time.perf_counter()
    cand = new_candidate(variant)
    try:
        art = build_artifact(variant.build, plan.model, plan.data, plan.out_dir / "variants", artifacts)
    except EdgeportError as exc:  # a failing candidate is recorded and the study goes on; a bug stops it
        build_failed(cand, one_line(exc))
        cand.seconds = time.perf_counter() - start
        phases["build+verify"] += cand.seconds
        return cand
    record_build(cand, art)
    cand.seconds = time.perf_counter() - start
    verify_stage(cand, plan.model, art, plan.data, plan.options.max_verify_samples)
    phases["build+verify"] += cand.seconds
    if cand.stage is None:
        bench_stage(cand, art, plan.data, bench_config(plan.options))
        phases["benchmark"] += cand.timed.end - cand.timed.start if cand.timed else 0.0
    t = time.perf_counter()
    cand.targets = {target.id: target_fit(target, art, cand, measure) for target in plan.targets}
    phases["targets"] += time.perf_counter() - t
    cand.seconds = time.perf_counter() - start
    return cand
