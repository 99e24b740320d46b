"""Run studies on a Ray cluster (``StudyOptions(executor="ray")``, ``edgeport optimize --executor ray``).

Builds and verifications are Ray tasks (one CPU each, a memory hint from the model's size), so they
spread over every core of every node; a pass's build waits for its fp32 parent's. Each build writes
into a private directory and is published content-addressed by one atomic rename (``study.artifacts``):
a worker killed mid-build is retried by Ray (``TASK_RETRIES`` times) and never leaves a half-written
artifact where a reader could see it.

Timing waits until every build and verification has finished, so nothing shares the CPU with a
benchmark; then each measured device is one Ray actor that runs one call at a time — the host's on the
driver's node, and one per device address (an agent, the browser) that forwards the job to its device —
so two timings never overlap on one machine, and each records the node that measured it.

The store stays single-writer: only this driver process writes it, one candidate as soon as it is done,
so a driver killed mid-run loses nothing finished and the next run (serial or Ray) resumes from it.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport._optional import require
from edgeport.core.artifact import Artifact
from edgeport.data.datasets import Dataset
from edgeport.errors import EdgeportError
from edgeport.study import targets as target_checks
from edgeport.study.artifacts import new_partial, publish, remove_partials
from edgeport.study.builds import build_artifact, is_source, parent_build
from edgeport.study.candidate import Candidate, TargetMeasurement, TimingWindow
from edgeport.study.options import StudyOptions
from edgeport.study.result import StudyResult
from edgeport.study.stages import bench_config, bench_stage, build_failed, new_candidate, one_line, record_build, \
    verify_stage
from edgeport.study.plan import ProgressHook, StudyPlan, add_missing_target_checks, finish_study, plan_study, \
    to_json_doc
from edgeport.study.variants import Build, Variant

__all__ = ["TASK_RETRIES", "BuildOutcome", "run_on_ray"]

TASK_RETRIES = 2  # a task whose worker process dies is run again at most this many times
_BASE_MEMORY = 512 * 2**20  # a worker's own footprint (Python, a backend) before the model
_MEMORY_PER_MODEL_BYTE = 16  # copies of the weights a conversion or quantization holds at once


@dataclass
class BuildOutcome:
    """A build task's result: the published artifact, or the one-line reason the build failed."""

    artifact: Artifact | None
    error: str | None = None


def run_on_ray(options: list[StudyOptions], store: Any, progress: ProgressHook | None = None) -> list[StudyResult]:
    """Run one study per options on Ray (connecting to ``ray_address``, or starting a local Ray that is shut
    down afterwards); the studies' tasks share the cluster, their benchmarks share the device actors."""
    results, _ = run_studies_on_ray(options, store, progress)
    return results


def run_studies_on_ray(options: list[StudyOptions], store: Any,
                       progress: ProgressHook | None = None) -> tuple[list[StudyResult], dict[str, float]]:
    """``run_on_ray`` and the wall time of each phase of the whole run."""
    ray = require("ray", "ray", "running a study on Ray (--executor ray)")
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=options[0].ray_address, include_dashboard=False, log_to_driver=False)
    try:
        plans = [plan_study(o, store) for o in options]
        return _RayRun(ray, plans, store, progress).run()
    finally:
        if started_here:
            ray.shutdown()


# ---- what runs in the workers ------------------------------------------------------------------------


def build_task(build: Build, source: Artifact, data: Dataset, root: str, run: str,
               parent: BuildOutcome | None) -> BuildOutcome:
    """Build one artifact into a private directory, then publish it (``parent``: the pass's fp32 build)."""
    if parent is not None and parent.error is not None:
        return BuildOutcome(None, parent.error)
    base = parent_build(build)
    cache: dict[str, Artifact | Exception] = {} if parent is None or base is None else {base.key: parent.artifact}
    partial = new_partial(Path(root), run)
    try:
        art = build_artifact(build, source, data, partial, cache)
    except EdgeportError as exc:  # recorded by the build's candidates
        shutil.rmtree(partial, ignore_errors=True)
        return BuildOutcome(None, one_line(exc))
    except BaseException:  # a bug keeps its traceback; what it half-wrote goes
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return BuildOutcome(publish(partial, art))


def verify_task(variant: Variant, model: Artifact, data: Dataset, built: BuildOutcome,
                max_samples: int | None) -> tuple[Candidate, Artifact | None]:
    """The candidate built and verified (its benchmark comes later, on the device's actor)."""
    cand = new_candidate(variant)
    if built.artifact is None:
        return build_failed(cand, built.error or "the build failed"), None
    record_build(cand, built.artifact)
    verify_stage(cand, model, built.artifact, data, max_samples)
    return cand, built.artifact


def _node_label() -> str:
    import ray

    return f"{socket.gethostname()} (ray node {ray.get_runtime_context().get_node_id()[:12]})"


def _restore_threads_env(omp: str | None) -> None:
    """Ray sets OMP_NUM_THREADS=1 in its workers; a benchmark measures with the driver's setting."""
    if omp is None:
        os.environ.pop("OMP_NUM_THREADS", None)
    else:
        os.environ["OMP_NUM_THREADS"] = omp


class HostBench:
    """Times candidates on the node it runs on; as a Ray actor with max_concurrency=1, one at a time."""

    def __init__(self, omp: str | None) -> None:
        _restore_threads_env(omp)
        self.node = _node_label()

    def warm(self, runtimes: list[str]) -> None:
        """Import the runtimes' backends now (while the builds run), so the first candidate's load time does
        not include them — as in the serial study, whose process imported them measuring the source."""
        import importlib

        from edgeport.runtimes import RUNTIMES

        for name in runtimes:
            for module in RUNTIMES.get(name).requires:
                importlib.import_module(module)

    def bench(self, cand: Candidate, art: Artifact, data: Dataset, config: Any) -> Candidate:
        bench_stage(cand, art, data, config, node=self.node)
        return cand


class DeviceMeasure:
    """Sends verify + benchmark jobs to one device (an agent's address, the browser), one at a time; keeps the
    measurements candidates that run the same way there share."""

    def __init__(self, omp: str | None) -> None:
        _restore_threads_env(omp)
        self.node = _node_label()
        self.cache: dict[tuple[str, ...], TargetMeasurement] = {}

    def measure(self, target: target_checks.StudyTarget, model: Artifact, art: Artifact, data: Dataset,
                cand: Candidate, config: Any, max_samples: int | None) -> TargetMeasurement:
        wall = time.time()
        m = target_checks.measure(target, model, art, data, cand, config, max_samples, self.cache)
        if m.timed is None:
            m.timed = TimingWindow(self.node, wall, time.time())
        return m


# ---- the driver ----------------------------------------------------------------------------------------


@dataclass
class _Job:
    plan: StudyPlan
    variant: Variant
    data_ref: Any
    build_ref: Any = None
    cand: Candidate | None = None
    art: Artifact | None = None
    waiting_on: list[tuple[target_checks.StudyTarget, Any]] = field(default_factory=list)  # device jobs


class _RayRun:
    def __init__(self, ray: Any, plans: list[StudyPlan], store: Any, progress: ProgressHook | None) -> None:
        self.ray, self.plans, self.store, self.progress = ray, plans, store, progress
        self.run_id = uuid.uuid4().hex[:10]
        self.node_id = ray.get_runtime_context().get_node_id()
        self.omp = os.environ.get("OMP_NUM_THREADS")
        self.devices: dict[str, Any] = {}
        self.host: Any = None
        self.data_refs = {id(p): ray.put(p.data) for p in plans}
        self.steps, self.total = 0, 0

    def run(self) -> tuple[list[StudyResult], dict[str, float]]:
        try:
            return self._run()
        finally:
            for actor in [self.host, *self.devices.values()]:
                if actor is not None:
                    self.ray.kill(actor)
            for root in {self._root(p) for p in self.plans}:
                remove_partials(root, self.run_id)

    def _run(self) -> tuple[list[StudyResult], dict[str, float]]:
        phases: dict[str, float] = {}
        jobs = [_Job(p, v, None) for p in self.plans for v in p.variants if v.key not in p.done]
        self.total = 2 * len(jobs)
        start = time.perf_counter()
        self._build_and_verify(jobs)
        phases["build+verify"] = time.perf_counter() - start
        start = time.perf_counter()
        self._benchmark(jobs)
        phases["benchmark"] = time.perf_counter() - start
        start = time.perf_counter()
        self._measure_on_devices(jobs)
        resumed = self._resumed()
        phases["targets"] = time.perf_counter() - start
        if self.progress:
            self.progress("done", self.total, self.total)
        by_key = {(id(j.plan), j.variant.key): j.cand for j in jobs}
        results = []
        for plan in self.plans:
            cands = [resumed.get((id(plan), v.key)) or by_key[(id(plan), v.key)] for v in plan.variants]
            results.append(finish_study(plan, [c for c in cands if c is not None], sum(
                (id(plan), v.key) in resumed for v in plan.variants), phases))
        return results, {k: round(v, 3) for k, v in phases.items()}

    def _root(self, plan: StudyPlan) -> Path:
        return Path(plan.options.artifact_root or plan.out_dir / "variants").resolve()

    def _step(self, key: str) -> None:
        self.steps += 1
        if self.progress:
            self.progress(key, self.steps, self.total)

    # phase 1: every build and verification as tasks, as wide as the cluster allows
    def _build_and_verify(self, jobs: list[_Job]) -> None:
        ray = self.ray
        build = ray.remote(build_task)
        verify = ray.remote(verify_task)
        builds: dict[tuple[int, str], Any] = {}
        data_refs = self.data_refs
        hints = {id(p): self._memory_hint(p.model) for p in self.plans}

        def build_ref(plan: StudyPlan, b: Build) -> Any:
            key = (id(plan), b.key)
            if key not in builds:
                if is_source(b, plan.model):
                    builds[key] = ray.put(BuildOutcome(plan.model))
                else:
                    base = parent_build(b)
                    parent = None if base is None else build_ref(plan, base)
                    builds[key] = build.options(num_cpus=1, memory=hints[id(plan)], max_retries=TASK_RETRIES).remote(
                        b, plan.model, data_refs[id(plan)], str(self._root(plan)), self.run_id, parent)
            return builds[key]

        runtimes = sorted({j.variant.runtime for j in jobs})
        if runtimes:  # the host's actor starts and imports its backends while the builds run
            self._host().warm.remote(runtimes)
        refs: dict[Any, _Job] = {}
        for job in jobs:
            job.data_ref = data_refs[id(job.plan)]
            job.build_ref = build_ref(job.plan, job.variant.build)
            ref = verify.options(num_cpus=1, memory=hints[id(job.plan)], max_retries=TASK_RETRIES).remote(
                job.variant, job.plan.model, job.data_ref, job.build_ref, job.plan.options.max_verify_samples)
            refs[ref] = job
        for ref, job in self._as_completed(refs):
            try:
                job.cand, job.art = ray.get(ref)
            except ray.exceptions.RayTaskError:
                raise  # a bug in edgeport (or a backend): it stops the study with its traceback
            except ray.exceptions.RayError as exc:  # the worker died more often than it is retried
                job.cand = new_candidate(job.variant)
                job.cand.status, job.cand.stage = "failed", self._lost_stage(job)
                job.cand.error = f"{type(exc).__name__}: the worker process died {TASK_RETRIES + 1} times"
            self._step(job.variant.key)
            if job.cand.stage == "build":  # no artifact: no target to check
                self._save(job)

    def _lost_stage(self, job: _Job) -> str:
        try:
            self.ray.get(job.build_ref)
        except self.ray.exceptions.RayError:
            return "build"
        return "verify"

    # phase 2: every host benchmark on the host's actor, one at a time
    def _benchmark(self, jobs: list[_Job]) -> None:
        refs: dict[Any, _Job] = {}
        for job in jobs:
            if job.cand is None or job.cand.stage == "build":
                continue
            if job.art is None:  # its verification's worker kept dying
                self._save(job)
                continue
            if job.cand.stage is not None:  # failed verification: checked, not timed
                self._check_targets(job)
                continue
            refs[self._host().bench.remote(job.cand, job.art, job.data_ref, bench_config(job.plan.options))] = job
        for ref, job in self._as_completed(refs):
            try:
                job.cand = self.ray.get(ref)
            except self.ray.exceptions.RayActorError as exc:  # the runtime took its process down with it
                assert job.cand is not None
                job.cand.status, job.cand.stage = "failed", "bench"
                job.cand.error = f"{type(exc).__name__}: the benchmark process died"
                self.host = None  # a fresh actor times the next candidates
            self._step(job.variant.key)
            self._check_targets(job)

    def _check_targets(self, job: _Job) -> None:
        """The static checks now; a device's measurement is sent to its actor and collected in phase 3."""
        assert job.cand is not None and job.art is not None
        cand, art = job.cand, job.art
        for target in job.plan.targets:
            fit = target_checks.check(target, art, cand)
            cand.targets[target.id] = fit
            if target.measured_by and fit.ok:
                job.waiting_on.append((target, self._device_call(job.plan, target, art, cand)))
        if not job.waiting_on:
            self._save(job)

    def _device_call(self, plan: StudyPlan, target: target_checks.StudyTarget, art: Artifact, cand: Candidate) -> Any:
        actor = self.devices.get(target.measured_by)
        if actor is None:
            actor = self.devices[target.measured_by] = self._actor(DeviceMeasure)
        return actor.measure.remote(target, plan.model, art, self.data_refs[id(plan)], cand,
                                    bench_config(plan.options), plan.options.max_verify_samples)

    # phase 3: the device measurements (each device's actor runs its jobs one at a time)
    def _measure_on_devices(self, jobs: list[_Job]) -> None:
        for job in jobs:
            if not job.waiting_on:
                continue
            assert job.cand is not None
            for target, ref in job.waiting_on:
                fit = job.cand.targets[target.id]
                job.cand.targets[target.id] = target_checks.with_measurement(fit, self.ray.get(ref))
            self._save(job)

    def _resumed(self) -> dict[tuple[int, str], Candidate]:
        """Candidates the store already holds, checked against targets added since (measured through the
        devices' actors)."""
        found: dict[tuple[int, str], Candidate] = {}
        for plan in self.plans:
            def measure(target: target_checks.StudyTarget, art: Artifact, cand: Candidate,
                        plan: StudyPlan = plan) -> TargetMeasurement:
                result: TargetMeasurement = self.ray.get(self._device_call(plan, target, art, cand))
                return result

            for key, (_, doc) in plan.done.items():
                cand = Candidate.from_json(doc)
                if add_missing_target_checks(cand, plan.targets, measure):
                    self.store.save_candidate(plan.study_id, key, cand.status, to_json_doc(cand))
                found[(id(plan), key)] = cand
        return found

    def _save(self, job: _Job) -> None:
        assert job.cand is not None
        self.store.save_candidate(job.plan.study_id, job.variant.key, job.cand.status, to_json_doc(job.cand))

    def _host(self) -> Any:
        if self.host is None:
            self.host = self._actor(HostBench)
        return self.host

    def _actor(self, cls: type) -> Any:
        """One call at a time, on the driver's node (the host is this machine; devices are reached from it)."""
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        here = NodeAffinitySchedulingStrategy(node_id=self.node_id, soft=False)
        return self.ray.remote(cls).options(max_concurrency=1, num_cpus=0, scheduling_strategy=here).remote(self.omp)

    def _as_completed(self, refs: dict[Any, _Job]) -> Any:
        pending = list(refs)
        while pending:
            ready, pending = self.ray.wait(pending, num_returns=1)
            for ref in ready:
                yield ref, refs[ref]

    def _memory_hint(self, model: Artifact) -> int:
        """Bytes a build or verification of ``model`` asks the scheduler for (at most one CPU's share)."""
        want = _BASE_MEMORY + _MEMORY_PER_MODEL_BYTE * model.size_bytes()
        res = self.ray.cluster_resources()
        return int(min(want, res.get("memory", want) / max(1.0, res.get("CPU", 1.0))))

