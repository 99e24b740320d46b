"""Run a planned pipeline on the host, end to end, every chosen variant resident in one process.

Which stages run on each frame is drawn once (``schedule``: every-Nth by frame index, a stage that
waits on an upstream firing by a seeded draw at its stated probability), so the sequential run,
the parallel run and the composed prediction all see the same frames. With every chosen variant
open, each stage is timed alone (back to back: warm caches) and interleaved (the stages called in
turn, as in a pipeline, so each call pays for the other models and runtimes sharing the process),
in blocks alternating with blocks of the sequential frames so a change in the machine's load
reaches both; then the frames run with independent stages in parallel threads (stages grouped by
depth in the graph; a depth's stages run together, the next depth waits for them). FPS is frames
over the time spent in frames.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from edgeport.pipeline.spec import PipelineSpec, stage_order

__all__ = ["FrameRun", "HostRun", "Span", "depths", "schedule"]

TIMELINE_FRAMES = 12  # frames whose stage spans the report draws
BLOCKS = 5  # the sequential frames run in blocks, each after a round of per-stage timings


@dataclass
class Span:
    stage: str
    start_ms: float  # from the frame's start
    end_ms: float


@dataclass
class FrameRun:
    """One way of running the frames: its per-frame times and the first frames' stage spans."""

    mode: str  # sequential | parallel
    frame_ms: list[float] = field(default_factory=list)
    median_ms: float = 0.0
    mean_ms: float = 0.0
    p90_ms: float = 0.0
    p99_ms: float = 0.0
    fps: float = 0.0  # frames / wall time
    timeline: list[list[Span]] = field(default_factory=list)
    stage_ms: dict[str, float] = field(default_factory=dict)  # median per-call time of each stage in this run


@dataclass
class HostRun:
    frames: int
    alone_ms: dict[str, list[float]]  # each stage's calls back to back, every variant resident
    interleaved_ms: dict[str, list[float]]  # the stages called in turn, each call timed
    sequential: FrameRun
    parallel: FrameRun
    resident_mb: float | None  # RSS growth from opening every chosen variant and running a frame
    runtime_mb: dict[str, float]  # RSS growth when each runtime's first stage opened (libraries + that model)
    load_ms: dict[str, float]


def schedule(spec: PipelineSpec, frames: int) -> list[set[str]]:
    """The stages that run on each of ``frames`` frames."""
    rng = np.random.default_rng(spec.seed)
    order = stage_order(spec)
    plan: list[set[str]] = []
    for f in range(frames):
        ran: set[str] = set()
        for s in order:
            if f % s.rate.every:
                continue
            if s.rate.when is not None and (s.rate.when not in ran or rng.random() >= s.rate.probability):
                continue
            ran.add(s.name)
        plan.append(ran)
    return plan


def depths(spec: PipelineSpec) -> list[list[str]]:
    """Stages grouped by their longest distance from a source of the graph (what can run in parallel)."""
    depth: dict[str, int] = {}
    for s in stage_order(spec):
        depth[s.name] = 1 + max((depth[u] for u in s.upstreams()), default=-1)
    levels: list[list[str]] = [[] for _ in range(max(depth.values()) + 1)]
    for s in spec.stages:
        levels[depth[s.name]].append(s.name)
    return levels


def _rss_mb() -> float | None:
    try:
        with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as fh:
            return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1e6
    except (OSError, ValueError, IndexError):
        return None


def _summary(run: FrameRun, wall_s: float) -> FrameRun:
    ordered = sorted(run.frame_ms)
    run.median_ms = statistics.median(ordered)
    run.mean_ms = statistics.fmean(ordered)
    run.p90_ms = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    run.p99_ms = ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]
    run.fps = len(ordered) / wall_s if wall_s > 0 else 0.0
    return run


class _Stages:
    """The chosen variants, open, with each stage's feeds (its data, or its upstream's latest output)."""

    def __init__(self, spec: PipelineSpec, opened: dict[str, Any], feeds: dict[str, list[dict[str, np.ndarray]]]):
        self.spec, self.opened, self.feeds = spec, opened, feeds
        self.latest: dict[str, dict[str, np.ndarray]] = {}
        self.calls: dict[str, int] = dict.fromkeys(opened, 0)

    def call(self, name: str) -> None:
        stage = self.spec.stage(name)
        pool = self.feeds[name]
        feeds = dict(pool[self.calls[name] % len(pool)])
        for inp in stage.inputs:
            if inp.upstream and inp.output and inp.output in self.latest.get(inp.upstream, {}):
                feeds[inp.name] = self.latest[inp.upstream][inp.output]
        self.calls[name] += 1
        self.latest[name] = self.opened[name].run(feeds)


def _frames(stages: _Stages, plan: list[set[str]], mode: str, levels: list[list[str]],
            between: Callable[[], None] | None = None) -> FrameRun:
    """Run ``plan``'s frames; ``between`` runs before each of ``BLOCKS`` equal blocks of frames, off the clock."""
    run = FrameRun(mode)
    per_stage: dict[str, list[float]] = {n: [] for n in stages.opened}
    clock = time.perf_counter
    pool = ThreadPoolExecutor(max_workers=max(len(level) for level in levels)) if mode == "parallel" else None

    def timed(name: str, t0: float) -> Span:
        start = clock()
        stages.call(name)
        end = clock()
        per_stage[name].append((end - start) * 1e3)
        return Span(name, (start - t0) * 1e3, (end - t0) * 1e3)

    block = max(1, -(-len(plan) // BLOCKS))
    wall_s = 0.0
    try:
        for f, running in enumerate(plan):
            if between is not None and f % block == 0:
                between()
            t0 = clock()
            spans: list[Span] = []
            for level in levels:
                todo = [n for n in level if n in running]
                if pool is not None and len(todo) > 1:
                    spans.extend(pool.map(lambda n: timed(n, t0), todo))
                else:
                    spans.extend(timed(n, t0) for n in todo)
            t1 = clock()
            run.frame_ms.append((t1 - t0) * 1e3)
            wall_s += t1 - t0
            if f < TIMELINE_FRAMES:
                run.timeline.append(spans)
    finally:
        if pool is not None:
            pool.shutdown()
    run.stage_ms = {n: statistics.median(v) for n, v in per_stage.items() if v}
    return _summary(run, wall_s)


def run_host(spec: PipelineSpec, open_stage: Callable[[str], Any], feeds: dict[str, list[dict[str, np.ndarray]]],
             runtime_of: dict[str, str]) -> HostRun:
    """Open every stage (``open_stage(name)`` returns an opened runtime), time each alone, then the frames."""
    plan = schedule(spec, spec.frames)
    levels = depths(spec)
    opened: dict[str, Any] = {}
    runtime_mb: dict[str, float] = {}
    load_ms: dict[str, float] = {}
    before = _rss_mb()
    try:
        for s in stage_order(spec):
            start = _rss_mb()
            rt = open_stage(s.name)
            opened[s.name] = rt
            load_ms[s.name] = (rt.load_seconds or 0.0) * 1e3
            rt.run(feeds[s.name][0])
            grown = _rss_mb()
            if runtime_of[s.name] not in runtime_mb and start is not None and grown is not None:
                runtime_mb[runtime_of[s.name]] = grown - start
        stages = _Stages(spec, opened, feeds)
        for s in stage_order(spec):  # warm-up: a frame's worth of each stage
            for _ in range(3):
                stages.call(s.name)
        after = _rss_mb()
        rounds = max(12, spec.frames // (2 * BLOCKS))  # per block: the timings follow the machine's load
        alone: dict[str, list[float]] = {name: [] for name in opened}
        interleaved: dict[str, list[float]] = {name: [] for name in opened}

        def time_stages() -> None:
            for name in opened:
                alone[name].extend(_timed_call(stages, name) for _ in range(rounds))
            for _ in range(rounds):
                for name in opened:
                    interleaved[name].append(_timed_call(stages, name))

        sequential = _frames(stages, plan, "sequential", levels, between=time_stages)
        parallel = _frames(stages, plan, "parallel", levels)
    finally:
        for rt in opened.values():
            rt.close()
    resident = after - before if after is not None and before is not None else None
    return HostRun(spec.frames, alone, interleaved, sequential, parallel, resident, runtime_mb, load_ms)


def _timed_call(stages: _Stages, name: str) -> float:
    start = time.perf_counter()
    stages.call(name)
    return (time.perf_counter() - start) * 1e3
