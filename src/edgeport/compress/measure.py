"""Measured numbers shared by every compression result: size, test accuracy, host latency."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeport.core.artifact import Artifact
from edgeport.data.datasets import Dataset

__all__ = ["Latency", "SLOWER_MARGIN", "accuracy_on", "compare_latency", "measure_latency", "slower_warning"]

# A quantised model counts as slower than its float parent when its median latency is more than
# this fraction above the parent's (a margin against the noise of a shared host).
SLOWER_MARGIN = 0.10


@dataclass
class Latency:
    median_ms: float
    p90_ms: float
    runs: int
    threads: int | None
    runtime: str
    method: str  # "bench.harness" | "timing-loop"


def accuracy_on(artifact: Artifact, data: Dataset, split: str = "test", *, runtime: str | None = None,
                max_samples: int | None = None) -> float | None:
    """Top-1 accuracy of ``artifact`` on ``split``, fed in the model's own layout (``None`` without labels)."""
    from edgeport.verify.compare import run_side
    from edgeport.verify.metrics import accuracy

    subset = data.split(split)
    if max_samples is not None:
        subset = subset.head(max_samples)
    if subset.labels is None:
        return None
    side = run_side(artifact, subset, "test", runtime)
    return accuracy(next(iter(side.outputs.values())), subset.labels)


def measure_latency(artifact: Artifact, data: Dataset | None = None, *, threads: int = 1,
                    runtime: str | None = None, min_runs: int = 30, min_s: float = 0.3) -> Latency | None:
    """Batch-1 latency on this host; ``None`` when no runtime here runs the format."""
    from edgeport.errors import MissingDependencyError, UnsupportedError
    from edgeport.runtimes.base import RuntimeOptions, runtimes_for

    runnable = [c for c in runtimes_for(artifact.format) if c.runnable_here and c.available()]
    if not runnable and runtime is None:
        return None
    options = RuntimeOptions(threads=threads)
    try:
        from edgeport.bench.harness import BenchmarkConfig, benchmark
    except ImportError:
        benchmark = None  # type: ignore[assignment]
    try:
        if benchmark is not None:
            cfg = BenchmarkConfig(warmup_runs=5, warmup_min_s=0.05, min_runs=min_runs, min_duration_s=min_s,
                                  max_duration_s=max(min_s * 10, 5.0))
            res = benchmark(artifact, runtime, options, _aligned(artifact, data), cfg)
            return Latency(res.latency_ms.median, res.latency_ms.p90, res.runs, threads, res.runtime,
                           "bench.harness")
        return _timing_loop(artifact, data, options, runtime, min_runs, min_s)
    except (MissingDependencyError, UnsupportedError):
        return None


def compare_latency(test: Artifact, parent: Artifact, data: Dataset | None = None, *, threads: int = 1,
                    blocks: int = 5, block_runs: int = 20, block_s: float = 0.1) -> tuple[Latency | None, Latency | None]:
    """Batch-1 latency of ``test`` and ``parent`` measured in interleaved blocks (A/B/A/B…), so machine
    drift does not favour whichever ran first; falls back to one-after-the-other measurement."""
    from edgeport.errors import EdgeportError
    from edgeport.runtimes.base import RuntimeOptions, runtimes_for

    arts = (test, parent)
    if any(not [c for c in runtimes_for(a.format) if c.runnable_here and c.available()] for a in arts):
        return measure_latency(test, data, threads=threads), measure_latency(parent, data, threads=threads)
    try:
        from edgeport.bench.harness import BenchmarkConfig, PreparedBenchmark, interleaved
    except ImportError:
        return measure_latency(test, data, threads=threads), measure_latency(parent, data, threads=threads)
    cfg = BenchmarkConfig(warmup_runs=5, warmup_min_s=0.05, min_runs=block_runs, min_duration_s=block_s)
    opened: list[Any] = []
    try:
        for art in arts:
            bench = PreparedBenchmark(art, None, RuntimeOptions(threads=threads), _aligned(art, data), cfg)
            bench.open()
            opened.append(bench)
            bench.warmup()
        results = interleaved([(lambda b=b: b.block(block_runs, block_s)) for b in opened], blocks=blocks,
                              names=["test", "parent"], alternate=True)
    except EdgeportError:
        return measure_latency(test, data, threads=threads), measure_latency(parent, data, threads=threads)
    finally:
        for bench in opened:
            bench.close()
    return tuple(Latency(r.median_ms, r.stats.p90, r.stats.count, threads, b.runtime.name,  # type: ignore[return-value]
                         "bench.harness interleaved") for r, b in zip(results, opened))


def _aligned(artifact: Artifact, data: Dataset | None) -> Dataset | None:
    """The test split in the artifact's input layout (None: synthetic inputs)."""
    if data is None or not artifact.inputs:
        return None
    from edgeport.errors import EdgeportError
    from edgeport.verify.align import align_inputs

    try:
        return align_inputs(data.split("test"), artifact.inputs, "test").dataset
    except EdgeportError:
        return None


def _timing_loop(artifact: Artifact, data: Dataset | None, options: Any, runtime: str | None, min_runs: int,
                 min_s: float) -> Latency:
    from edgeport.core.inputs import synthetic_feeds
    from edgeport.data.synthetic import feed_plan
    from edgeport.runtimes.base import open_runtime

    with open_runtime(artifact, runtime, options) as rt:
        source = _aligned(artifact, data) or synthetic_feeds(rt.input_specs(), plan=feed_plan(artifact))
        feeds = rt.prepare(source.feeds(rt.input_specs(), 0, 1))
        for _ in range(5):
            rt.run_prepared(feeds)
        samples: list[float] = []
        start = time.perf_counter()
        while len(samples) < min_runs or time.perf_counter() - start < min_s:
            t0 = time.perf_counter_ns()
            rt.run_prepared(feeds)
            samples.append((time.perf_counter_ns() - t0) / 1e6)
        arr = np.asarray(samples)
        return Latency(float(np.median(arr)), float(np.percentile(arr, 90)), len(samples), options.threads,
                       rt.name, "timing-loop")


def slower_warning(quant: Latency | None, parent: Latency | None, what: str) -> str | None:
    """A loud one-liner when ``quant`` is measurably slower than its float ``parent``."""
    if quant is None or parent is None or parent.median_ms <= 0:
        return None
    ratio = quant.median_ms / parent.median_ms
    if ratio > 1 + SLOWER_MARGIN:
        return (f"{what} is {ratio:.1f}× SLOWER than its float parent on this host "
                f"({quant.median_ms:.3f} ms vs {parent.median_ms:.3f} ms median, {quant.threads} thread(s))")
    return None
