"""The benchmark harness: load, first run, warm-up, timed runs, statistics, conditions.

``benchmark(artifact, ...)`` is the one-call API. Underneath, ``PreparedBenchmark`` holds an
open runtime with its feeds prepared once (validation and quantisation are not timed; the
timed call is ``Runtime.run_prepared``) and can time any number of blocks, which is what
``interleaved`` uses to measure several candidates A/B/A/B in one run.

The hot loop is kept minimal (two ``perf_counter_ns`` calls, an index and an append per run) so
the harness adds next to nothing over a bare loop of the backend's own run call.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.bench import conditions as cond
from edgeport.bench.ops import PROFILE_RUNS, OpBreakdown, breakdown, graph_of
from edgeport.bench.stats import LatencyStats, summarize
from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.inputs import (InputPlan, concrete_specs, feeds_whole, synthetic_feeds, unknown_dims,
                                  unknown_dims_note)
from edgeport.data.datasets import Dataset
from edgeport.data.synthetic import feed_plan
from edgeport.errors import ConfigError, DatasetError, EdgeportError, UnsupportedError
from edgeport.graph.ir import Graph
from edgeport.runtimes.base import (DeviceTiming, OpTiming, RunPolicy, Runtime, RuntimeOptions, batch_size_for,
                                    open_runtime)

__all__ = ["BenchmarkConfig", "BenchmarkResult", "InterleavedResult", "PeakRss", "PreparedBenchmark", "benchmark",
           "config_for", "interleaved", "time_ops"]


@dataclass(frozen=True)
class BenchmarkConfig:
    warmup_runs: int = 10  # warm-up ends when BOTH this many runs and warmup_min_s have passed
    warmup_min_s: float = 0.5
    min_runs: int = 50  # timing ends when BOTH this many runs and min_duration_s have passed ...
    min_duration_s: float = 2.0
    max_runs: int = 100_000  # ... or at this many runs
    max_duration_s: float | None = 120.0  # ... or after this long (slow models), whichever first
    batch: int = 1  # samples per run (a model with a static batch dim uses its own)
    distinct_inputs: int = 32  # how many different input batches are cycled through

    def __post_init__(self) -> None:
        ints = {"warmup_runs": self.warmup_runs, "min_runs": self.min_runs, "max_runs": self.max_runs,
                "batch": self.batch, "distinct_inputs": self.distinct_inputs}
        for name, value in ints.items():
            if value < (0 if name == "warmup_runs" else 1):
                raise ConfigError(f"benchmark {name} must be ≥ {0 if name == 'warmup_runs' else 1}, got {value}",
                                  fix="pass a positive number")
        if self.max_runs < self.min_runs:
            raise ConfigError(f"benchmark max_runs {self.max_runs} < min_runs {self.min_runs}",
                              fix="raise max_runs or lower min_runs")
        if self.warmup_min_s < 0 or self.min_duration_s < 0:
            raise ConfigError("benchmark durations must be ≥ 0 s", fix="pass a non-negative number of seconds")


@dataclass
class BenchmarkResult:
    model: str
    format: str
    runtime: str
    threads: int | None
    batch: int
    inputs: str  # "dataset:<name>" or "synthetic: ..."
    latency_ms: LatencyStats
    throughput: float  # samples per second (batch × runs / total timed seconds)
    load_ms: float  # runtime open (model load + compile)
    first_run_ms: float  # first inference after load
    warmup_runs: int
    warmup_s: float
    runs: int
    timed_s: float
    peak_rss_delta_mb: float | None  # peak resident memory above the level before load
    rss_method: str
    runtime_info: dict[str, Any]
    conditions: cond.Conditions
    config: BenchmarkConfig
    kind: str = "benchmark"
    device: str = ""  # the device address it was timed on ("" = this host)
    device_conditions: dict[str, Any] | None = None  # that device's own conditions record (beside the host's)
    ops: OpBreakdown | None = None  # per-operator times, when asked for (``time_ops``, separate profiled runs)
    ops_note: str = ""  # why there are none, when they were asked for
    _samples_ms: list[float] = field(default_factory=list, repr=False)  # raw latencies (not serialised)

    @property
    def samples_ms(self) -> list[float]:
        return self._samples_ms

    @property
    def loaded(self) -> bool:
        return self.conditions.loaded


# ---- memory ------------------------------------------------------------------------------------
_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kb(key: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return None
    return None


class PeakRss:
    """Peak RSS above the level at ``start()``: VmHWM after resetting it, else sampled RSS."""

    def __init__(self) -> None:
        self.method = "unavailable"
        self._base_kb: int | None = None
        self._samples: list[int] = []

    @staticmethod
    def _rss_kb() -> int | None:
        kb = _status_kb("VmRSS")
        if kb is not None:
            return kb
        try:
            import psutil

            return int(psutil.Process().memory_info().rss // 1024)
        except (ImportError, OSError):
            return None

    def start(self) -> None:
        self._base_kb = self._rss_kb()
        try:
            _CLEAR_REFS.write_text("5")  # resets VmHWM to the current RSS (Linux ≥ 4.0)
            self.method = "VmHWM (peak reset before load)"
        except OSError:
            self.method = "RSS sampled after load and after the runs" if self._base_kb is not None else "unavailable"

    def sample(self) -> None:
        kb = self._rss_kb()
        if kb is not None:
            self._samples.append(kb)

    def delta_mb(self) -> float | None:
        if self._base_kb is None:
            return None
        if self.method.startswith("VmHWM"):
            peak = _status_kb("VmHWM")
        else:
            self.sample()
            peak = max(self._samples) if self._samples else None
        return None if peak is None else max(0, peak - self._base_kb) / 1024.0


# ---- inputs ------------------------------------------------------------------------------------
def _batch_for(specs: Sequence[Any], wanted: int) -> int:
    """``wanted`` when the model has a symbolic batch dim, else its fixed batch (dim 0)."""
    return batch_size_for(tuple(specs), wanted)


def _input_batches(rt: Runtime, data: Dataset | None, batch: int, distinct: int) -> tuple[list[dict[str, Any]], str]:
    specs = rt.input_specs()
    if data is not None:
        split = data.split("test") if data.splits else data
        if split.count < batch:
            split = data
        if data.count < batch:
            raise DatasetError(f"dataset {data.name!r} has {data.count} samples, fewer than batch {batch}",
                               fix="use a smaller --batch or a larger dataset")
        batches = []
        for feeds in split.batches(specs, batch):
            if len(next(iter(feeds.values()))) == batch:
                batches.append(feeds)
            if len(batches) >= distinct:
                break
        return batches, f"dataset:{data.name}"
    plan, note = _sized(rt, specs, replace(feed_plan(rt.artifact), batch=batch))
    synthetic = synthetic_feeds(specs, count=distinct if feeds_whole(specs) else batch * distinct, seed=0, plan=plan)
    batches = list(synthetic.batches(specs, batch))[:distinct]
    return batches, "synthetic inputs (no dataset given)" + (f"; {note}" if note else "")


PROBE_SIZES = (1, 16, 64, 256, 1024)


def _sized(rt: Runtime, specs: Sequence[Any], plan: InputPlan) -> tuple[InputPlan, str]:
    """``plan`` with a size for the dims nothing gave (not fixed, not batch, no ``--shape``), and the note.

    A benchmark needs some size; 1 is wrong for many models (silero VAD's STFT needs 256+ samples).
    So the unknown dims are tried together at ``PROBE_SIZES`` and the first size the model runs with
    is used; the note names it and ``--shape``, and the latency is that size's, not the real one's.
    """
    unknown = unknown_dims(specs)
    if not unknown:
        return plan, ""
    concrete = {s.name: s.shape for s in concrete_specs(specs, plan.batch)}
    declared = "; ".join(f"{s.name} {s.shape_str()}" for s in specs if s.name in unknown)
    for size in PROBE_SIZES:
        shapes = {name: tuple(size if i in axes else d for i, d in enumerate(concrete[name]))
                  for name, axes in unknown.items()}
        trial = InputPlan({**shapes, **plan.shapes}, plan.values, plan.batch)
        probe = next(synthetic_feeds(specs, 1, plan=trial).batches(specs, plan.batch or 1))
        try:
            rt.run(probe)
        except EdgeportError:
            continue
        given = " ".join(f"--shape {n}={'x'.join(map(str, s))}" for n, s in shapes.items())
        return trial, (f"unknown input dims ({declared}) fed as {size}, the first of {PROBE_SIZES} the model ran "
                       f"with: the latency is at that size — give the real one with {given}")
    return plan, unknown_dims_note(specs) or ""


# ---- the prepared benchmark --------------------------------------------------------------------
class PreparedBenchmark:
    """An open runtime plus prepared feeds: time warm-up and blocks of runs on it."""

    def __init__(self, artifact: Artifact | str | Path, runtime: str | None = None,
                 options: RuntimeOptions | None = None, data: Dataset | None = None,
                 config: BenchmarkConfig | None = None) -> None:
        self.artifact = artifact if isinstance(artifact, Artifact) else load_artifact(artifact)
        self._setup(open_runtime(self.artifact, runtime, options), config or BenchmarkConfig(), data)

    @classmethod
    def on_feeds(cls, runtime: Runtime, feeds: list[dict[str, np.ndarray]], config: BenchmarkConfig, *,
                 load_ms: float = 0.0, first_run_ms: float = 0.0) -> PreparedBenchmark:
        """An already-open runtime timed on feeds already prepared for it: how a device agent times the feeds a
        client sent with the same warm-up and block loop as this host (``open()`` is then not called)."""
        if not feeds:
            raise ConfigError("no feeds to time", fix="send at least one prepared input batch")
        bench = cls.__new__(cls)
        bench.artifact = runtime.artifact
        bench._setup(runtime, config, None)
        bench._feeds, bench._next = list(feeds), 0
        bench.load_ms, bench.first_run_ms = load_ms, first_run_ms
        return bench

    def _setup(self, runtime: Runtime, config: BenchmarkConfig, data: Dataset | None) -> None:
        self.config = config
        self.runtime = runtime
        self.data = data
        self.load_ms = 0.0
        self.first_run_ms = 0.0
        self.warmup_runs = 0
        self.warmup_s = 0.0
        self.batch = self.config.batch
        self.inputs = ""
        self._feeds: list[dict[str, np.ndarray]] = []
        self._next = 0
        self._last_runs = 0
        self._last_s = 0.0

    @property
    def threads(self) -> int | None:
        return self.runtime.options.threads

    def open(self) -> PreparedBenchmark:
        """Load the model (timed), prepare the feeds once (not timed) and time the first run."""
        start = time.perf_counter()
        self.runtime.open()
        self.load_ms = (time.perf_counter() - start) * 1e3
        try:
            self.batch = _batch_for(self.runtime.input_specs(), self.config.batch)
            raw, self.inputs = _input_batches(self.runtime, self.data, self.batch, self.config.distinct_inputs)
            self._feeds = [self.runtime.prepare(f) for f in raw]
            run = self.runtime.run_prepared
            t0 = time.perf_counter_ns()
            run(self._feeds[0])
            self.first_run_ms = (time.perf_counter_ns() - t0) / 1e6
        except BaseException:
            self.runtime.close()
            raise
        self._next = 1 % len(self._feeds)
        return self

    def close(self) -> None:
        self.runtime.close()

    def __enter__(self) -> PreparedBenchmark:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def warmup(self, runs: int | None = None, min_s: float | None = None) -> None:
        runs = self.config.warmup_runs if runs is None else runs
        min_s = self.config.warmup_min_s if min_s is None else min_s
        if runs <= 0 and min_s <= 0:
            return
        self.block(max(runs, 1), min_s, max_runs=self.config.max_runs if min_s > 0 else max(runs, 1),
                   max_s=max(min_s * 4, 10.0))
        self.warmup_runs += self._last_runs
        self.warmup_s += self._last_s

    def block(self, min_runs: int, min_s: float, *, max_runs: int | None = None,
              max_s: float | None = None) -> list[float]:
        """Time runs until both ``min_runs`` and ``min_s`` are met (or a cap); latencies in ms."""
        feeds = self._feeds
        n = len(feeds)
        run = self.runtime.run_prepared
        perf = time.perf_counter_ns
        cap_runs = max_runs if max_runs is not None else self.config.max_runs
        cap_ns = int(max_s * 1e9) if max_s is not None else (
            int(self.config.max_duration_s * 1e9) if self.config.max_duration_s else 1 << 62)
        times: list[int] = []
        append = times.append
        i = self._next
        count = 0
        begin = perf()
        end_min = begin + int(min_s * 1e9)
        end_max = begin + cap_ns
        while True:
            f = feeds[i]
            t0 = perf()
            run(f)
            t1 = perf()
            append(t1 - t0)
            count += 1
            i += 1
            if i == n:
                i = 0
            if (count >= min_runs and t1 >= end_min) or count >= cap_runs or t1 >= end_max:
                break
        self._next = i
        self._last_runs = count
        self._last_s = (perf() - begin) / 1e9
        return [t / 1e6 for t in times]

    def time_ops(self, runs: int) -> OpTiming:
        """Each kernel's time over ``runs`` runs of these feeds, by the runtime's profiler (``Runtime.time_ops``)."""
        return self.runtime.time_ops(self._feeds, runs)

    def on_device(self, blocks: int = 1) -> DeviceTiming:
        """The config's warm-up and then ``blocks`` consecutive blocks' worth of runs, timed on the device by a
        device runtime (``time_on_device``) in one call (the feeds travel once), never across the link."""
        cfg = self.config
        cap_s = None if cfg.max_duration_s is None else cfg.max_duration_s * blocks
        policy = RunPolicy(warmup_runs=cfg.warmup_runs, warmup_min_s=cfg.warmup_min_s, min_runs=cfg.min_runs * blocks,
                           min_duration_s=cfg.min_duration_s * blocks, max_runs=cfg.max_runs * blocks,
                           max_duration_s=cap_s)
        timing = self.runtime.time_on_device(self._feeds, policy)
        if timing is None:
            raise TypeError(f"device runtime {self.runtime.name!r} returned no timing")
        return timing

    def result(self, samples_ms: list[float], conditions: cond.Conditions, peak_rss_delta_mb: float | None,
               rss_method: str) -> BenchmarkResult:
        stats = summarize(samples_ms)
        total_s = sum(samples_ms) / 1e3
        return BenchmarkResult(
            model=self.artifact.name, format=self.artifact.format.value, runtime=self.runtime.name,
            threads=self.threads, batch=self.batch, inputs=self.inputs, latency_ms=stats,
            throughput=self.batch * len(samples_ms) / total_s if total_s > 0 else 0.0,
            load_ms=self.load_ms, first_run_ms=self.first_run_ms, warmup_runs=self.warmup_runs,
            warmup_s=self.warmup_s, runs=len(samples_ms), timed_s=total_s, peak_rss_delta_mb=peak_rss_delta_mb,
            rss_method=rss_method, runtime_info=_describe(self.runtime), conditions=conditions,
            config=self.config, _samples_ms=samples_ms)


def _describe(rt: Runtime) -> dict[str, Any]:
    try:
        return dict(rt.describe())
    except Exception as exc:  # a runtime's describe() must never lose the measurement
        return {"runtime": rt.name, "describe_error": f"{type(exc).__name__}: {exc}"}


def _versions(rt: Runtime) -> dict[str, Any]:
    return {rt.name: rt.version(), "numpy": np.__version__}


def benchmark(artifact: Artifact | str | Path, runtime: str | None = None, options: RuntimeOptions | None = None,
              data: Dataset | None = None, config: BenchmarkConfig | None = None) -> BenchmarkResult:
    """Benchmark one model on one runtime: load, first run, warm-up, timed runs, conditions."""
    bench = PreparedBenchmark(artifact, runtime, options, data, config)
    before = cond.capture(bench.threads, _versions(bench.runtime))
    if bench.runtime.device_schemes:
        return _benchmark_on_device(bench, before)
    memory = PeakRss()
    memory.start()
    with bench:
        memory.sample()
        bench.warmup()
        cfg = bench.config
        samples = bench.block(cfg.min_runs, cfg.min_duration_s)
        memory.sample()
        peak = memory.delta_mb()
    after = cond.finish(before)
    return bench.result(samples, after, peak, memory.method)


def time_ops(artifact: Artifact | str | Path, runtime: str | None = None, options: RuntimeOptions | None = None, *,
             data: Dataset | None = None, runs: int = PROFILE_RUNS, graph: Graph | None = None,
             config: BenchmarkConfig | None = None) -> OpBreakdown:
    """Where the time goes: ``artifact`` profiled on ``runtime`` over ``runs`` runs of the feeds ``config`` (its
    batch and distinct inputs) makes from ``data`` (else synthetic), each kernel tied to the node of ``graph``
    it is named after (default: the artifact's own graph). Runtimes without a profiler edgeport reads raise
    ``UnsupportedError``."""
    config = replace(config or BenchmarkConfig(), warmup_runs=0, warmup_min_s=0.0)  # the profiler warms up itself
    with PreparedBenchmark(artifact, runtime, options, data, config) as bench:
        if bench.runtime.device_schemes:
            raise UnsupportedError(f"operators are profiled in this process, not on a device ({bench.runtime.name})",
                                   fix="profile on this host (drop --device), or run edgeport on the device")
        timing = bench.time_ops(runs)
        name, art = bench.runtime.name, bench.artifact
    return breakdown(timing, name, graph if graph is not None else graph_of(art))


def _benchmark_on_device(bench: PreparedBenchmark, before: cond.Conditions) -> BenchmarkResult:
    """The same policy, timed on the device by its runtime; the host's conditions are recorded beside the
    device's own."""
    with bench:
        timing = bench.on_device()
        bench.warmup_runs, bench.warmup_s = timing.warmup_runs, timing.warmup_s
        if timing.load_ms is not None:
            bench.load_ms = timing.load_ms
        if timing.first_run_ms is not None:
            bench.first_run_ms = timing.first_run_ms
        address = str(getattr(bench.runtime.options, "device", "") or bench.runtime.name)
    result = bench.result(list(timing.samples_ms), cond.finish(before), timing.peak_rss_delta_mb, timing.rss_method)
    result.device, result.device_conditions = address, timing.conditions
    return result


def config_for(policy: RunPolicy) -> BenchmarkConfig:
    """The benchmark configuration a device applies to a ``RunPolicy`` it was sent (the inverse of the
    policy ``_benchmark_on_device`` sends)."""
    return BenchmarkConfig(warmup_runs=policy.warmup_runs, warmup_min_s=policy.warmup_min_s,
                           min_runs=policy.min_runs, min_duration_s=policy.min_duration_s, max_runs=policy.max_runs,
                           max_duration_s=policy.max_duration_s)


# ---- interleaving ------------------------------------------------------------------------------
@dataclass
class InterleavedResult:
    """One candidate measured in interleaved blocks: the median of block medians is its number."""

    name: str
    blocks: int
    block_medians_ms: list[float]
    median_ms: float  # median of the block medians
    p99_ms: float  # over all samples pooled
    stats: LatencyStats  # over all samples pooled
    block_cv: float  # spread of the block medians (repeatability within this run)


def interleaved(benchmarks: Sequence[Callable[[], Sequence[float]]], blocks: int = 5, *,
                names: Sequence[str] | None = None, alternate: bool = False) -> list[InterleavedResult]:
    """Run each callable once per round, A/B/A/B…, for ``blocks`` rounds.

    Each callable times one block and returns its latencies (ms). Interleaving spreads slow
    drift of the machine (other load, thermal state) evenly over the candidates instead of
    penalising whichever ran last. ``alternate=True`` reverses the order every other round (ABBA).
    """
    from edgeport.bench.stats import coefficient_of_variation

    if blocks < 1:
        raise ConfigError(f"interleaved needs at least one block, got {blocks}", fix="pass blocks ≥ 1")
    labels = list(names) if names is not None else [getattr(b, "__name__", f"candidate {i}")
                                                     for i, b in enumerate(benchmarks)]
    if len(labels) != len(benchmarks):
        raise ConfigError("interleaved: names and benchmarks differ in length", fix="give one name per benchmark")
    per_block: list[list[float]] = [[] for _ in benchmarks]
    pooled: list[list[float]] = [[] for _ in benchmarks]
    order = list(range(len(benchmarks)))
    for round_no in range(blocks):
        seq = order[::-1] if alternate and round_no % 2 else order
        for idx in seq:
            samples = list(benchmarks[idx]())
            if samples:
                per_block[idx].append(float(np.median(samples)))
                pooled[idx].extend(samples)
    results = []
    for idx, label in enumerate(labels):
        if not pooled[idx]:
            continue
        stats = summarize(pooled[idx])
        meds = per_block[idx]
        results.append(InterleavedResult(name=label, blocks=len(meds), block_medians_ms=meds,
                                         median_ms=float(np.median(meds)), p99_ms=stats.p99, stats=stats,
                                         block_cv=coefficient_of_variation(meds)))
    return results
