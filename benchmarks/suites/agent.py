"""The device agent: the same model timed here and through a loopback agent must give the same median.

An agent (``edgeport agent serve``) runs on this machine in its own process; the ``remote`` runtime sends it
the model and the prepared feeds, and it times them with the harness's own loop. Local blocks (the ONNX
Runtime runtime in this process) and agent blocks (``time_on_device``) alternate, so drift hits both.
Target: the medians differ by under 3 % on ResNet-18 and MobileNetV2. On digits (tens of µs) the table also
gives the cost of one ``run`` round trip through the agent (HTTP + .npz both ways) above the local call —
what verification on a device pays per batch, never part of a timed latency.
"""

from __future__ import annotations

import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line

from edgeport.bench.harness import BenchmarkConfig, PreparedBenchmark, interleaved
from edgeport.runtimes.base import RunPolicy

NAME = "agent"
TITLE = "Device agent: local vs loopback-agent medians, and the per-call overhead"
ORDER = 45
MODELS = ("resnet18", "mobilenet_v2", "digits")
TARGET_MODELS = ("resnet18", "mobilenet_v2")


def _onnx(ctx: Context, name: str) -> Path:
    shared = ctx.shared.get("artifacts", {}).get(name, {}).get("onnxruntime:fp32")
    if shared is not None:
        return Path(shared.path)
    from benchmarks.stacks import model_under_test

    from edgeport.convert.api import convert

    model = model_under_test(ctx, name)
    out = ctx.work_dir / name / f"{name}.onnx"
    return Path(convert(model.pt2, "onnx", out=out, verify_result=False).artifact.path)


class _Agent:
    """``edgeport agent serve`` on loopback, any free port, its cache and token in the work dir."""

    def __init__(self, work: Path, core: int | None = None) -> None:
        """``core``: the agent is pinned to that one core (a one-core device), from before it starts."""
        token = work / "agent-token"
        token.write_text("benchmark-token\n")
        os.environ["EDGEPORT_AGENT_TOKEN_FILE"] = str(token)
        self.proc = subprocess.Popen([sys.executable, "-m", "edgeport.cli.main", "agent", "serve", "--port", "0",
                                      "--token-file", str(token), "--cache", str(work / "agent-cache")],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                     preexec_fn=None if core is None else lambda: os.sched_setaffinity(0, {core}))
        assert self.proc.stdout is not None
        for line in self.proc.stdout:  # the agent prints its address once it listens
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if found:
                self.address = f"agent://127.0.0.1:{found.group(1)}"
                return
        raise RuntimeError(f"the agent exited with {self.proc.wait()}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


def _compare(ctx: Context, suite: SuiteResult, name: str, path: Path, threads: int, address: str,
             table: Table, overhead: Table) -> None:
    from edgeport.runtimes.onnxruntime import OnnxRuntimeOptions
    from edgeport.runtimes.remote import RemoteOptions

    config = BenchmarkConfig(warmup_runs=ctx.warmup_runs, warmup_min_s=ctx.warmup_s, min_runs=ctx.block_runs,
                             min_duration_s=ctx.block_s)
    block = RunPolicy(warmup_runs=0, warmup_min_s=0.0, min_runs=ctx.block_runs, min_duration_s=ctx.block_s,
                      max_runs=config.max_runs, max_duration_s=config.max_duration_s)
    warm = RunPolicy(warmup_runs=ctx.warmup_runs, warmup_min_s=ctx.warmup_s, min_runs=1, min_duration_s=0.0,
                     max_runs=1, max_duration_s=config.max_duration_s)
    with PreparedBenchmark(path, "onnxruntime", OnnxRuntimeOptions(threads=threads), None, config) as local, \
            PreparedBenchmark(path, "remote", RemoteOptions(threads=threads, device=address), None, config) as remote:
        feeds = remote._feeds
        local.warmup()
        remote.runtime.time_on_device(feeds, warm)
        results = interleaved([lambda: local.block(ctx.block_runs, ctx.block_s),
                               lambda: remote.runtime.time_on_device(feeds, block).samples_ms],
                              blocks=max(ctx.blocks, 3), names=["local", "agent"], alternate=True)
        here, there = results
        diff = there.median_ms / here.median_ms - 1
        table.add(model=name, threads=threads, local_median_ms=here.median_ms, agent_median_ms=there.median_ms,
                  difference=diff, local_cv=here.block_cv, agent_cv=there.block_cv, runs=there.stats.count)
        if name in TARGET_MODELS:
            suite.target(f"{name} @{threads}t: agent vs local median", abs(diff) * 100, 3.0, "%",
                         note="same ONNX file and ORT options; the agent times on its side of the link")
        if name == "digits":
            calls = 50 if ctx.smoke else 500
            walls = []
            for _ in range(3):
                start = time.perf_counter_ns()
                for i in range(calls):
                    remote.runtime.run_prepared(feeds[i % len(feeds)])
                walls.append((time.perf_counter_ns() - start) / calls / 1e6)
            trip = statistics.median(walls)
            overhead.add(model=name, threads=threads, round_trip_ms=trip, local_median_ms=here.median_ms,
                         overhead_us=(trip - here.median_ms) * 1e3, calls=calls * 3)


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    if ctx.smoke:
        suite.skip("agent", "smoke mode: starts an agent and times models through it (tests cover the path)")
        return suite
    table = Table("local (in process) vs loopback agent: same model, same runtime options, interleaved blocks",
                  ["model", "threads", ("local_median_ms", "local median ms"), ("agent_median_ms", "agent median ms"),
                   ("difference", "agent vs local"), ("local_cv", "local block CV"), ("agent_cv", "agent block CV"),
                   "runs"])
    overhead = Table("one run() round trip through the agent (HTTP + .npz both ways) vs the local median",
                     ["model", "threads", ("round_trip_ms", "round trip ms"), ("local_median_ms", "local median ms"),
                      ("overhead_us", "overhead µs per call"), "calls"])
    table.notes.append("the agent and this process share the machine; while the agent times, this process waits "
                       "on its socket")
    models = MODELS[-1:] if ctx.smoke else MODELS
    threads_list = ctx.threads[:1]
    agent = _Agent(ctx.work_dir)
    try:
        with measured(table, threads_list[0]), measured(overhead, threads_list[0]):
            for name in models:
                try:
                    path = _onnx(ctx, name)
                    for threads in threads_list:
                        ctx.log(f"agent: {name} @{threads}t")
                        _compare(ctx, suite, name, path, threads, agent.address, table, overhead)
                except Exception as exc:  # one model failing must not lose the others' numbers
                    suite.skip(name, one_line(exc))
    finally:
        agent.stop()
    suite.tables += [table, overhead]
    return suite
