"""TVM: MetaSchedule-tuned modules against ONNX Runtime fp32 — only where tuning records exist.

An untuned TVM module runs default schedules and is not representative (ResNet-18 measured
≈ 1.8 s untuned vs ≈ 33 ms in ONNX Runtime; ≈ 72 ms after a short tuning run), so a model is
measured only when the tuning cache (``$EDGEPORT_CACHE/tvm-tuning/<model>-<target>``) already
holds records for it, or when ``EDGEPORT_BENCH_TVM_TUNE_S=<seconds>`` asks this suite to tune
first (records are cached, so later runs reuse them). Models without records are listed as
skipped with that reason. The table also records how many kernels had records and how many
candidates were measured in total, so a lightly tuned row is visibly lightly tuned.
"""

from __future__ import annotations

import hashlib
import os

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line
from benchmarks.stacks import Candidate, ModelUnderTest, measure_model, model_under_test

NAME = "tvm"
TITLE = "TVM: MetaSchedule-tuned module vs ONNX Runtime fp32 (only models with tuning records)"
ORDER = 42

MODELS = ("digits", "mobilenet_v2", "resnet18")
TUNE_ENV = "EDGEPORT_BENCH_TVM_TUNE_S"


def _has_records(onnx_path: os.PathLike[str], batch: int = 1) -> bool:
    from edgeport.convert._tvm_tuning import cache_dir_for
    from edgeport.convert.onnx_to_tvm import _static_specs, host_target
    from edgeport.graph.onnx_reader import read_io

    ins, _, _ = read_io(onnx_path)
    shapes = {s.name: list(s.shape) for s in _static_specs(tuple(ins), batch)}
    digest = hashlib.sha256(open(onnx_path, "rb").read()).hexdigest()
    records = cache_dir_for(digest, host_target(), shapes) / "database_tuning_record.json"
    return records.is_file() and records.stat().st_size > 0


def _candidates(ctx: Context, model: ModelUnderTest, suite: SuiteResult, tune_s: float) -> list[Candidate]:
    from edgeport.convert.api import convert
    from edgeport.core.artifact import load_artifact

    work = ctx.work_dir / model.name / "tvm"
    work.mkdir(parents=True, exist_ok=True)
    source = load_artifact(model.pt2)
    onnx = convert(source, "onnx", out=work / f"{model.name}.onnx", data=model.data, verify_result=False).artifact
    if tune_s <= 0 and not _has_records(onnx.path):
        suite.skip(f"{model.name}: TVM", f"no tuning records for this model and host (set {TUNE_ENV}=<seconds> to "
                   "tune first); untuned modules are not representative")
        return []
    tvm = convert(onnx, "tvm", out=work / f"{model.name}.tvm", data=model.data, verify_result=False,
                  options={"tune_seconds": tune_s}, timeout_s=max(600.0, 3 * tune_s + 600)).artifact
    tuning = tvm.metadata.get("tuning", {})
    how = (f"onnx-to-tvm, {tuning.get('tasks_with_records')}/{tuning.get('tasks')} kernels tuned, "
           f"{tuning.get('records_after')} records")
    return [Candidate("ONNX Runtime", "onnxruntime", "fp32", onnx, how="torch-to-onnx"),
            Candidate("TVM", "tvm", "fp32", tvm, how=how)]


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    from edgeport.runtimes.tvm import TvmRuntime

    if not TvmRuntime.available():
        suite.skip("TVM", 'not installed (pip install "edgeport[tvm]")')
        return suite
    if ctx.smoke:
        suite.skip("TVM", "smoke mode measures PyTorch eager and ONNX Runtime only")
        return suite
    tune_s = float(os.environ.get(TUNE_ENV, "0") or 0)
    summary = Table("TVM tuning state per model", ["model", ("tuned_kernels", "kernels with records"),
                                                   ("records", "tuning records"), ("budget_s", "tuned now (s)")])
    for name in MODELS:
        try:
            model = model_under_test(ctx, name)
            cands = _candidates(ctx, model, suite, tune_s)
        except Exception as exc:  # one model failing must not lose the others' numbers
            suite.skip(name, one_line(exc))
            continue
        if not cands:
            continue
        tuning = cands[-1].artifact.metadata.get("tuning", {})
        summary.add(model=name, tuned_kernels=f"{tuning.get('tasks_with_records')}/{tuning.get('tasks')}",
                    records=tuning.get("records_after"), budget_s=tune_s)
        measure_model(ctx, model, cands, suite)
    if summary.rows:
        with measured(summary, 1):
            pass
        suite.tables.insert(0, summary)
    suite.notes.append("untuned TVM is not measured: ResNet-18 untuned ≈ 1.8 s vs ORT ≈ 33 ms (≈ 72 ms after a "
                       "short tuning run); tuning uses replay-trace sampling with a random cost model (xgboost is "
                       "not installed), so more budget keeps improving the cached records")
    return suite
