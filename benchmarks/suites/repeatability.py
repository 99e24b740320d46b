"""Repeatability: the coefficient of variation of the median over independent benchmark runs (target < 3%).

Each repeat is a full ``edgeport.benchmark`` call (fresh session, warm-up, timed runs).
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line

from edgeport.bench.harness import BenchmarkConfig, benchmark
from edgeport.bench.stats import coefficient_of_variation

NAME = "repeatability"
TITLE = "Repeatability: CV of the median over repeated runs"
ORDER = 50


def _models(ctx: Context) -> dict[str, Path]:
    arts = ctx.shared.get("artifacts", {})
    preferred = ["digits"] if ctx.smoke else ["mobilenet_v2", "digits"]
    found = {n: Path(arts[n]["onnxruntime:fp32"].path) for n in preferred if "onnxruntime:fp32" in arts.get(n, {})}
    if not found:
        from edgeport.convert.api import convert
        from edgeport.data.examples import digits_model_path

        pt2 = digits_model_path(ctx.work_dir / "digits")
        found["digits"] = convert(pt2, "onnx", out=ctx.work_dir / "digits" / "digits.onnx",
                                  verify_result=False).artifact.path
    return found


def run(ctx: Context) -> SuiteResult:
    from edgeport.runtimes.onnxruntime import OnnxRuntimeOptions

    suite = SuiteResult(NAME, TITLE)
    config = BenchmarkConfig(warmup_runs=ctx.warmup_runs, warmup_min_s=ctx.warmup_s,
                             min_runs=ctx.block_runs * 2, min_duration_s=ctx.block_s * 2)
    table = Table(f"ONNX Runtime fp32, 1 thread, {ctx.repeats} independent runs",
                  ["model", ("medians_ms", "medians ms"), ("mean_of_medians_ms", "mean of medians ms"),
                   ("cv_median", "CV of the median"), ("cv_within", "CV within a run (mean)")])
    with measured(table, 1):
        for name, path in _models(ctx).items():
            try:
                results = [benchmark(path, "onnxruntime", OnnxRuntimeOptions(threads=1), None, config)
                           for _ in range(ctx.repeats)]
            except Exception as exc:
                suite.skip(name, one_line(exc))
                continue
            medians = [r.latency_ms.median for r in results]
            cv = coefficient_of_variation(medians)
            table.add(model=name, medians_ms=medians, mean_of_medians_ms=sum(medians) / len(medians), cv_median=cv,
                      cv_within=sum(r.latency_ms.cv for r in results) / len(results))
            suite.target(f"{name}: CV of the median over {ctx.repeats} runs", cv * 100, 3.0, "%")
    suite.tables.append(table)
    return suite
