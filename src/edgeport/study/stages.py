"""The stages one candidate goes through — built, verified, benchmarked — written once for every executor.

The serial study runs them one after another in this process; the Ray executor runs the build and
verification as tasks anywhere in the cluster and the benchmark on the measured device's actor. Each
stage fills its part of the ``Candidate`` and records an ``EdgeportError`` as the candidate's failure
(stage and one-line reason); any other exception is a bug and propagates with its traceback.
"""

from __future__ import annotations

import socket
import time
from typing import Any

from edgeport.core.artifact import Artifact
from edgeport.data.datasets import Dataset
from edgeport.errors import EdgeportError
from edgeport.study.candidate import Candidate, LatencySummary, LineageEntry, TimingWindow
from edgeport.study.options import StudyOptions
from edgeport.study.variants import Variant

__all__ = ["bench_config", "bench_stage", "build_failed", "new_candidate", "one_line", "record_build",
           "verify_stage"]


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:400]


def new_candidate(variant: Variant) -> Candidate:
    build = variant.build
    return Candidate(key=variant.key, build=build.key, format=build.format, precision=build.precision,
                     runtime=variant.runtime, threads=variant.threads)


def build_failed(cand: Candidate, reason: str) -> Candidate:
    cand.status, cand.stage, cand.error = "failed", "build", reason
    return cand


def record_build(cand: Candidate, art: Artifact) -> None:
    cand.artifact = str(art.path)
    cand.size_bytes = art.size_bytes()
    cand.lineage = [LineageEntry.of(a) for a in art.lineage()]


def verify_stage(cand: Candidate, model: Artifact, art: Artifact, data: Dataset, max_samples: int | None) -> None:
    """Compare ``art`` with the source on the real data, with the candidate's runtime and threads."""
    from edgeport.runtimes import RUNTIMES
    from edgeport.verify.compare import verify, worst_output
    from edgeport.verify.tolerance import Tolerance

    start = time.perf_counter()
    try:
        rt_options = RUNTIMES.get(cand.runtime).Options(threads=cand.threads)
        ver = verify(model, art, data, tolerance=Tolerance.for_precision(cand.precision), test_runtime=cand.runtime,
                     test_options=rt_options, max_samples=max_samples)
        worst = worst_output(ver.outputs)
        cand.accuracy = ver.test_accuracy
        cand.accuracy_delta = ver.accuracy_delta
        cand.agreement = worst.top1_agreement
        cand.max_abs, cand.cosine, cand.snr_db = worst.max_abs, worst.cosine, worst.snr_db
        cand.verified = ver.passed
        cand.verification_failures = ver.failures()
    except EdgeportError as exc:  # recorded with its reason; anything else is a bug and stops the study
        cand.status, cand.stage, cand.error = "failed", "verify", one_line(exc)
    cand.seconds += time.perf_counter() - start


def bench_stage(cand: Candidate, art: Artifact, data: Dataset, config: Any, node: str | None = None) -> None:
    """Time ``art`` with the candidate's runtime and threads; ``node`` names the machine doing it (default:
    this host). The candidate is "ok" if it also verified, else "diverged"."""
    from edgeport.bench.harness import benchmark
    from edgeport.predict.energy import host_energy
    from edgeport.runtimes import RUNTIMES

    start, wall = time.perf_counter(), time.time()
    try:
        rt_options = RUNTIMES.get(cand.runtime).Options(threads=cand.threads)
        bench = benchmark(art, runtime=cand.runtime, options=rt_options, data=data.split("test"), config=config)
        cand.latency_ms = LatencySummary.of(bench.latency_ms)
        samples = list(bench.samples_ms)
        step = max(1, len(samples) // 200)
        cand.latency_samples_ms = [round(v, 5) for v in samples[::step]]
        cand.throughput = bench.throughput
        cand.load_ms = bench.load_ms
        cand.peak_rss_mb = bench.peak_rss_delta_mb
        cand.runtime_info = dict(bench.runtime_info)
        energy = host_energy(art, cand.runtime, rt_options, data.split("test"))
        cand.energy_mj, cand.energy_label = energy.mj_per_inference, energy.label
        cand.status = "ok" if cand.verified else "diverged"
    except EdgeportError as exc:
        cand.status, cand.stage, cand.error = "failed", "bench", one_line(exc)
    cand.timed = TimingWindow(node or socket.gethostname(), wall, time.time())
    cand.seconds += time.perf_counter() - start


def bench_config(options: StudyOptions) -> Any:
    from edgeport.bench.harness import BenchmarkConfig

    s = options.bench
    return BenchmarkConfig(warmup_runs=s.warmup_runs, min_runs=s.min_runs, min_duration_s=s.min_seconds,
                           max_runs=s.max_runs, max_duration_s=s.max_seconds)
