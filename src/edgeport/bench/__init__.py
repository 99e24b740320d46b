"""Benchmarking: the harness (warm-up, timed runs, interleaved blocks), statistics, conditions."""

from __future__ import annotations

from edgeport.bench.harness import (
    BenchmarkConfig,
    BenchmarkResult,
    InterleavedResult,
    PreparedBenchmark,
    benchmark,
    interleaved,
)
from edgeport.bench.matrix import BenchMatrix, bench_matrix

__all__ = ["BenchMatrix", "BenchmarkConfig", "BenchmarkResult", "InterleavedResult", "PreparedBenchmark",
           "bench_matrix", "benchmark", "interleaved"]
