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

__all__ = ["BenchmarkConfig", "BenchmarkResult", "InterleavedResult", "PreparedBenchmark", "benchmark",
           "interleaved"]
