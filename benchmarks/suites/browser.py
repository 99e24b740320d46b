"""The browser against native: ONNX Runtime (native, 1 thread) vs ONNX Runtime Web in headless Chromium
(WASM SIMD, 1 and 2 threads) on the same ONNX file and inputs, in one interleaved table; the headline is the
slowdown factor. Then harness honesty in the page: edgeport's in-page timing (``time_on_device``) against a
hand-written page loop (its own session, ``performance.now()`` around each awaited ``session.run``) on the
same model and inputs, interleaved (target: within 3 %).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line, ratio
from benchmarks.stacks import model_under_test

from edgeport.bench.harness import BenchmarkConfig, PreparedBenchmark, interleaved
from edgeport.runtimes.base import RunPolicy

NAME = "browser"
TITLE = "Browser (ONNX Runtime Web, headless Chromium) vs native ONNX Runtime, and in-page harness honesty"
ORDER = 35

# the hand-written loop: nothing of edgeport's page code, only ORT Web's documented API
HAND_LOOP = """async ([modelUrl, feedUrl, name, dims, threads, minRuns, minS]) => {
  const ort = await import('/ort/ort.wasm.min.mjs');
  ort.env.wasm.wasmPaths = '/ort/';
  ort.env.wasm.numThreads = threads;
  if (!window.handSession) {
    const bytes = new Uint8Array(await (await fetch(modelUrl)).arrayBuffer());
    window.handSession = await ort.InferenceSession.create(bytes, {executionProviders: ['wasm'],
                                                                   graphOptimizationLevel: 'all'});
    const data = new Float32Array(await (await fetch(feedUrl)).arrayBuffer());
    window.handFeeds = {[name]: new ort.Tensor('float32', data, dims)};
    await window.handSession.run(window.handFeeds);
  }
  const times = [];
  const end = performance.now() + minS * 1000;
  while (true) {
    const t0 = performance.now();
    await window.handSession.run(window.handFeeds);
    const t1 = performance.now();
    times.push(t1 - t0);
    if (times.length >= minRuns && t1 >= end) break;
  }
  return times;
}"""


def _onnx(ctx: Context, name: str) -> Path:
    from edgeport.convert.api import convert

    model = model_under_test(ctx, name)
    out = ctx.work_dir / name / f"{name}.onnx"
    if not out.exists():
        convert(model.pt2, "onnx", out=out, verify_result=False)
    return out


def run(ctx: Context) -> SuiteResult:
    from edgeport.runtimes.browser import BrowserOptions, BrowserRuntime, _close_shared

    suite = SuiteResult(NAME, TITLE)
    if ctx.smoke:
        suite.skip("browser", "smoke mode: starts Chromium and compiles ORT Web per page (tests cover the path)")
        return suite
    if not BrowserRuntime.available():
        suite.skip("browser", "Chromium or onnxruntime-web missing: make browser web")
        return suite
    names = ["digits"] if ctx.smoke else ["digits", "mobilenet_v2"]
    table = Table("Native ONNX Runtime vs ONNX Runtime Web (batch 1, interleaved blocks, medians of block medians)",
                  [("model", "model"), ("stack", "stack"), ("threads", "threads"), ("median_ms", "median ms"),
                   ("p99_ms", "p99 ms"), ("block_cv", "block CV"), ("load_ms", "load ms"),
                   ("slowdown", "× native 1t")])
    honesty = Table("In-page harness honesty: edgeport's time_on_device vs a hand-written page loop (1 thread)",
                    [("model", "model"), ("edgeport_ms", "edgeport ms"), ("hand_ms", "hand loop ms"),
                     ("diff_pct", "diff %")])
    try:
        for name in names:
            try:
                path = _onnx(ctx, name)
            except Exception as exc:  # a model that cannot be built is a skipped row, not a dead suite
                suite.skip(name, one_line(exc))
                continue
            _compare(ctx, suite, table, name, path, BrowserOptions)
            _honesty(ctx, suite, honesty, name, path, BrowserOptions)
    finally:
        _close_shared()
    table.notes.append("ORT Web timing is in the page (performance.now() around each awaited session.run, 5 µs "
                       "timer when cross-origin isolated); native timing is edgeport's perf_counter_ns loop. "
                       "Load = session create (the page's includes the WebAssembly instantiation of a fresh page).")
    suite.tables += [table, honesty]
    return suite


def _config(ctx: Context) -> BenchmarkConfig:
    return BenchmarkConfig(warmup_runs=ctx.warmup_runs, warmup_min_s=ctx.warmup_s, min_runs=ctx.block_runs,
                           min_duration_s=ctx.block_s)


def _block_policy(ctx: Context) -> RunPolicy:
    return RunPolicy(warmup_runs=0, warmup_min_s=0.0, min_runs=ctx.block_runs, min_duration_s=ctx.block_s,
                     max_runs=100_000, max_duration_s=60.0)


def _compare(ctx: Context, suite: SuiteResult, table: Table, name: str, path: Path, options: Any) -> None:
    from edgeport.runtimes.onnxruntime import OnnxRuntimeOptions

    cfg = _config(ctx)
    benches = [("ONNX Runtime (native)", 1, PreparedBenchmark(path, "onnxruntime", OnnxRuntimeOptions(threads=1),
                                                              config=cfg))]
    benches += [("ONNX Runtime Web (WASM)", t, PreparedBenchmark(path, "browser", options(threads=t), config=cfg))
                for t in (1, 2)]
    opened = []
    try:
        for _, _, b in benches:
            b.open()
            opened.append(b)
        policy = _block_policy(ctx)
        calls = []
        for _, _, b in benches:
            if b.runtime.device_schemes:
                b.runtime.time_on_device(b._feeds, RunPolicy(ctx.warmup_runs, ctx.warmup_s, 1, 0.0, 100_000, 60.0))
                calls.append(lambda b=b: b.runtime.time_on_device(b._feeds, policy).samples_ms)
            else:
                b.warmup()
                calls.append(lambda b=b: b.block(ctx.block_runs, ctx.block_s))
        with measured(table, 1):
            results = interleaved(calls, ctx.blocks, names=[f"{s} {t}t" for s, t, _ in benches], alternate=True)
    except Exception as exc:  # a stack that fails on this model is a skipped row with its reason
        suite.skip(f"{name} browser vs native", one_line(exc))
        return
    finally:
        for b in opened:
            b.close()
    native = results[0].median_ms
    for (stack, threads, b), r in zip(benches, results):
        load = b.runtime.page_load_ms if b.runtime.device_schemes else b.load_ms
        table.add(model=name, stack=stack, threads=threads, median_ms=round(r.median_ms, 4),
                  p99_ms=round(r.p99_ms, 4), block_cv=round(r.block_cv, 3), load_ms=round(load, 1),
                  slowdown=round(ratio(r.median_ms, native) or 0.0, 2))


def _honesty(ctx: Context, suite: SuiteResult, table: Table, name: str, path: Path, options: Any) -> None:
    import numpy as np

    from edgeport.runtimes.browser import BrowserRuntime

    try:
        bench = PreparedBenchmark(path, "browser", options(threads=1), config=_config(ctx)).open()
    except Exception as exc:
        suite.skip(f"{name} honesty", one_line(exc))
        return
    try:
        rt: BrowserRuntime = bench.runtime  # type: ignore[assignment]
        chromium = rt._chromium
        spec = rt.input_specs()[0]
        feed = np.ascontiguousarray(bench._feeds[0][spec.name], dtype=np.float32)
        feeds = [{spec.name: feed}]
        page = chromium.new_page()
        model_key, model_url = chromium.server.register(path)
        feed_key, feed_url = chromium.server.register(feed.tobytes())
        hand_args = [model_url, feed_url, spec.name, list(feed.shape), 1, ctx.block_runs, ctx.block_s]
        chromium.call(page, HAND_LOOP, hand_args, 600)  # the hand loop's own session, first run and a block
        rt.time_on_device(feeds, RunPolicy(ctx.warmup_runs, ctx.warmup_s, 1, 0.0, 100_000, 60.0))
        policy = _block_policy(ctx)
        with measured(table, 1):
            results = interleaved([lambda: rt.time_on_device(feeds, policy).samples_ms,
                                   lambda: chromium.call(page, HAND_LOOP, hand_args, 600)], ctx.blocks,
                                  names=["edgeport", "hand"], alternate=True)
        page.close()
        chromium.server.forget(model_key)
        chromium.server.forget(feed_key)
    except Exception as exc:
        suite.skip(f"{name} honesty", one_line(exc))
        return
    finally:
        bench.close()
    ours, hand = results[0].median_ms, results[1].median_ms
    diff = (ours / hand - 1.0) * 100
    table.add(model=name, edgeport_ms=round(ours, 4), hand_ms=round(hand, 4), diff_pct=round(diff, 2))
    suite.target(f"{name} @1t: edgeport in-page timing vs hand-written page loop (median)", abs(diff), 3.0, "%")
