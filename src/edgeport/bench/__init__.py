"""Benchmarking: the harness (warm-up, timed runs, interleaved blocks), statistics, conditions, per-operator times."""

from __future__ import annotations

from edgeport.bench.harness import (
    BenchmarkConfig,
    BenchmarkResult,
    InterleavedResult,
    PreparedBenchmark,
    benchmark,
    interleaved,
    time_ops,
)
from edgeport.bench.ops import OpBreakdown, OpRow
from edgeport.bench.matrix import BenchMatrix, bench_matrix

__all__ = ["BenchMatrix", "BenchmarkConfig", "BenchmarkResult", "InterleavedResult", "OpBreakdown", "OpRow",
           "PreparedBenchmark", "bench_matrix", "benchmark", "interleaved", "time_ops"]
