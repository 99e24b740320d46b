"""Candidates for the model suites: every installed stack's fp32 and int8 path, discovered, not listed.

PyTorch eager and ONNX Runtime fp32 are always measured. Every other runtime registered in
``edgeport.runtimes.RUNTIMES`` that is installed and runs here gets its default fp32 (converted
with ``edgeport.convert.api.convert``) and its own int8 path: a calibrated int8 pass registered
for its format (``edgeport.passes.PASSES``: ORT static QDQ, NNCF), else its converter's ``int8``
precision (LiteRT full-int8, ExecuTorch PT2E). Anything that fails is skipped with its reason.
Candidates of one model are measured interleaved (A/B/A/B blocks, medians of blocks), per thread count.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line, ratio
from benchmarks.report import PICK_MARK

from edgeport.bench.harness import BenchmarkConfig, PreparedBenchmark, interleaved
from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import DatasetError

__all__ = ["DEPTH_MODELS", "Candidate", "ModelUnderTest", "build_candidates", "measure_model", "model_under_test",
           "run_per_model"]

ALWAYS = ("torch", "onnxruntime")
# models of the per-stack "in depth" suites: ResNet-18 on every stack's fp32 and int8 is in reference_models,
# and repeating it per stack would double the suite's run time for rows it already has
DEPTH_MODELS = ("digits", "mobilenet_v2")
# runtimes whose numbers are not representative without extra work (reason recorded when skipped)
NOT_REPRESENTATIVE = {"tvm": "untuned TVM modules are not representative (ResNet-18 ≈ 1.8 s); "
                             "measured only when tuning records exist"}
# extra fp32-family variants a stack offers by default on this CPU class
EXTRA_VARIANTS: dict[str, list[tuple[str, dict[str, Any]]]] = {"openvino": [("bf16", {"inference_precision": "bf16"})]}
STACK_LABELS = {"torch": "PyTorch eager", "onnxruntime": "ONNX Runtime", "openvino": "OpenVINO",
                "litert": "LiteRT (XNNPACK)", "executorch": "ExecuTorch (XNNPACK)", "tvm": "TVM",
                "tensorflow": "TensorFlow"}


@dataclass
class ModelUnderTest:
    name: str
    pt2: Path
    data: Dataset | None  # real data (accuracy and calibration) or None (synthetic inputs)
    accuracy: bool  # report test-split accuracy per candidate
    macs: int | None = None


@dataclass
class Candidate:
    stack: str  # label shown in the table
    runtime: str
    precision: str
    artifact: Artifact
    options: dict[str, Any] = field(default_factory=dict)  # runtime options besides threads
    how: str = ""  # how the artifact was made
    pick: bool = False  # edgeport's recommended variant


_LOG: list[Callable[[str], None]] = [print]


def model_under_test(ctx: Context, name: str) -> ModelUnderTest:
    """``digits`` (trained, real test data) or a zoo reference model exported at 224 (seeded, no data)."""
    if name == "digits":
        from edgeport.data.examples import digits, digits_model_path

        return ModelUnderTest(name="digits", pt2=digits_model_path(ctx.work_dir / "digits"), data=digits(),
                              accuracy=True)
    from edgeport.data import zoo

    path = ctx.work_dir / name / f"{name}.pt2"
    zoo.export_pt2(getattr(zoo, name)(calibrate_bn=True), (1, 3, 224, 224), path, dynamic_batch=False)
    return ModelUnderTest(name=name, pt2=path, data=None, accuracy=False)


def _label(runtime: str) -> str:
    return STACK_LABELS.get(runtime, runtime)


def _runtime_format(cls: Any) -> Format | None:
    formats = sorted(cls.formats, key=lambda f: (f in (Format.ONNX, Format.TORCH_EXPORT), f.value))
    return formats[0] if formats else None


def _convert(model: ModelUnderTest, source: Artifact, fmt: Format, out: Path, precision: str) -> Artifact:
    import time

    from edgeport.convert.api import convert

    start = time.perf_counter()

    data = model.data
    if precision != "fp32" and data is None:
        from edgeport.core.inputs import synthetic_feeds

        data = synthetic_feeds(source.inputs, count=64, seed=0)
    result = convert(source, fmt, out=out, data=data, options={"precision": precision}, verify_result=False)
    _LOG[0](f"[bench]   {model.name}: {fmt.value} {precision} built in {time.perf_counter() - start:.1f} s")
    return result.artifact


def _int8_pass(fmt: Format) -> Any | None:
    try:
        from edgeport.passes import PASSES
    except ImportError:
        return None
    for cls in PASSES:
        if fmt in cls.formats and getattr(cls, "precision", "") == "int8" and getattr(cls, "needs_data", False) \
                and cls.available():
            return cls
    return None


def _calibration(model: ModelUnderTest, source: Artifact) -> Dataset:
    if model.data is not None:
        return model.data
    from edgeport.core.inputs import synthetic_feeds

    return synthetic_feeds(source.inputs, count=64, seed=0)


def _apply_int8_pass(pass_cls: Any, fp32: Artifact, model: ModelUnderTest, out: Path) -> Artifact:
    import time

    start = time.perf_counter()
    art = pass_cls().apply(fp32, out, None, _calibration(model, fp32), measure=False)
    _LOG[0](f"[bench]   {model.name}: {pass_cls.name} applied in {time.perf_counter() - start:.1f} s")
    return art


def build_candidates(ctx: Context, model: ModelUnderTest, suite: SuiteResult,
                     recommended: Callable[[Context, ModelUnderTest], list[Candidate]] | None = None
                     ) -> list[Candidate]:
    """Every stack's fp32 and int8 candidate for ``model`` (skips recorded on ``suite``)."""
    from edgeport.runtimes import RUNTIMES

    _LOG[0] = ctx.log
    work = ctx.work_dir / model.name
    work.mkdir(parents=True, exist_ok=True)
    source = load_artifact(model.pt2)
    cands = [Candidate(_label("torch"), "torch", "fp32", source, how="torch.export")]
    fp32_by_format: dict[Format, Artifact] = {Format.TORCH_EXPORT: source}
    try:
        onnx = _convert(model, source, Format.ONNX, work / f"{model.name}.onnx", "fp32")
        fp32_by_format[Format.ONNX] = onnx
        cands.append(Candidate(_label("onnxruntime"), "onnxruntime", "fp32", onnx, how="torch-to-onnx"))
    except Exception as exc:  # recorded, the suite goes on with what it has
        suite.skip(f"{model.name}: ONNX Runtime fp32", one_line(exc))
    others = [cls for cls in RUNTIMES if cls.name not in ALWAYS]
    for cls in others:
        label = _label(cls.name)
        if not cls.runnable_here:
            suite.skip(f"{model.name}: {label}", "cannot execute on this host")
            continue
        if not cls.available():
            suite.skip(f"{model.name}: {label}", f"not installed (pip install \"edgeport[{cls.extra}]\")")
            continue
        if cls.name in NOT_REPRESENTATIVE:
            suite.skip(f"{model.name}: {label}", NOT_REPRESENTATIVE[cls.name])
            continue
        if ctx.smoke:
            suite.skip(f"{model.name}: {label}", "smoke mode measures PyTorch eager and ONNX Runtime only")
            continue
        fmt = _runtime_format(cls)
        if fmt is None:
            continue
        try:
            art = fp32_by_format.get(fmt) or _convert(model, source, fmt, work / f"{model.name}-{cls.name}{fmt.suffix}",
                                                      "fp32")
            fp32_by_format[fmt] = art
            cands.append(Candidate(label, cls.name, "fp32", art, how=_how(art)))
            for precision, opts in EXTRA_VARIANTS.get(cls.name, []):
                cands.append(Candidate(label, cls.name, precision, art, dict(opts), how=_how(art)))
        except Exception as exc:
            suite.skip(f"{model.name}: {label} fp32", one_line(exc))
    if not ctx.smoke or _int8_pass(Format.ONNX) is not None:
        cands.extend(_int8_candidates(ctx, model, source, fp32_by_format, suite, others))
    if recommended is not None:
        cands.extend(recommended(ctx, model))
    registry = ctx.shared.setdefault("artifacts", {}).setdefault(model.name, {})
    for cand in cands:
        registry.setdefault(f"{cand.runtime}:{cand.precision}", cand.artifact)
    return cands


def _how(art: Artifact) -> str:
    steps = [a.step.name for a in art.lineage() if a.step is not None]
    return " → ".join(steps) or "source"


def _int8_candidates(ctx: Context, model: ModelUnderTest, source: Artifact, fp32: dict[Format, Artifact],
                     suite: SuiteResult, others: list[Any]) -> list[Candidate]:
    work = ctx.work_dir / model.name
    found: list[Candidate] = []
    stacks: list[tuple[str, Format]] = [("onnxruntime", Format.ONNX)]
    if not ctx.smoke:
        stacks += [(cls.name, _runtime_format(cls)) for cls in others  # type: ignore[misc]
                   if cls.available() and cls.runnable_here and cls.name not in NOT_REPRESENTATIVE]
    for runtime, fmt in stacks:
        label = _label(runtime)
        out = work / f"{model.name}-{runtime}-int8{fmt.suffix}"
        try:
            pass_cls = _int8_pass(fmt)
            if pass_cls is not None and fmt in fp32:
                art = _apply_int8_pass(pass_cls, fp32[fmt], model, out)
            else:
                art = _convert(model, source, fmt, out, "int8")
            calibrated = "real data" if model.data is not None else "synthetic inputs"
            found.append(Candidate(label, runtime, "int8", art, how=f"{_how(art)} (calibrated on {calibrated})"))
        except Exception as exc:
            suite.skip(f"{model.name}: {label} int8", one_line(exc))
    return found


# ---- measuring -----------------------------------------------------------------------------------
def _options(runtime: str, threads: int, extra: dict[str, Any]) -> Any:
    from edgeport.runtimes import RUNTIMES

    cls = RUNTIMES.get(runtime)
    base = cls.Options(threads=threads)
    names = {f.name for f in dataclasses.fields(base)}
    return dataclasses.replace(base, **{k: v for k, v in extra.items() if k in names})


def _open(cand: Candidate, threads: int, data: Dataset | None,
          config: BenchmarkConfig) -> tuple[PreparedBenchmark, str]:
    """Open a prepared benchmark fed with real data where its input layout allows, else synthetic."""
    feeds = [data] if data is not None else []
    if data is not None and cand.artifact.inputs:
        try:
            from edgeport.verify.align import align_inputs

            feeds.append(align_inputs(data, cand.artifact.inputs, "test").dataset)
        except Exception:  # noqa: BLE001 - alignment is best effort; synthetic inputs remain
            pass
    feeds.append(None)  # type: ignore[arg-type]
    last: Exception | None = None
    for d in feeds:
        bench = PreparedBenchmark(cand.artifact, cand.runtime, _options(cand.runtime, threads, cand.options), d, config)
        try:
            bench.open()
            return bench, bench.inputs
        except DatasetError as exc:
            last = exc
    raise last or RuntimeError("no inputs")


def accuracy_of(cand: Candidate, data: Dataset) -> float | None:
    """Top-1 accuracy on the test split, through the candidate's runtime (layout aligned)."""
    import numpy as np

    from edgeport.verify.compare import run_side

    test = data.split("test")
    side = run_side(cand.artifact, test, "test", cand.runtime, _options(cand.runtime, 1, cand.options))
    (logits,) = list(side.outputs.values())[:1]
    logits = np.asarray(logits)
    if logits.ndim != 2 or test.labels is None:
        return None
    return float((logits.argmax(1) == test.labels).mean())


def _peak_kind(precision: str) -> str:
    """Which GEMM peak a row is held to: int8 paths the int8 peak, bf16 the bf16 one, the rest fp32."""
    if precision.startswith("int8"):
        return "int8"
    return "bf16" if precision.startswith("bf16") else "fp32"


def measure_model(ctx: Context, model: ModelUnderTest, cands: list[Candidate], suite: SuiteResult,
                  quality: Callable[[Candidate], dict[str, float | None]] | None = None) -> list[Table]:
    """One table per thread count: every candidate interleaved; median, p99, ratio to the pick/best.

    ``quality`` (optional) gives each candidate's extra quality columns (e.g. top-1/top-5 agreement with the
    source on real data), measured once and shown in every table beside the latency."""
    peaks = ctx.shared.get("peak_gops", {})
    extra: dict[int, dict[str, float | None]] = {}
    if quality is not None:
        for i, cand in enumerate(cands):
            try:
                extra[i] = quality(cand)
            except Exception as exc:
                suite.skip(f"{model.name}: quality of {cand.stack} {cand.precision}", one_line(exc))
    extra_columns = sorted({k for row in extra.values() for k in row})
    tables: list[Table] = []
    accuracy: dict[int, float | None] = {}
    if model.accuracy and model.data is not None:
        ctx.log(f"[bench]   {model.name}: accuracy of {len(cands)} candidates on the test split")
        for i, cand in enumerate(cands):
            try:
                accuracy[i] = accuracy_of(cand, model.data)
            except Exception as exc:
                suite.skip(f"{model.name}: accuracy of {cand.stack} {cand.precision}", one_line(exc))
    config = BenchmarkConfig(warmup_runs=ctx.warmup_runs, warmup_min_s=ctx.warmup_s, min_runs=ctx.block_runs,
                             min_duration_s=ctx.block_s)
    for threads in ctx.threads:
        table = Table(f"{model.name}: batch 1, {threads} thread{'s' if threads > 1 else ''} "
                      f"(interleaved, {ctx.blocks} blocks)",
                      ["stack", "precision", ("median_ms", "median ms"), ("p99_ms", "p99 ms"),
                       ("ratio", "ratio to pick" if any(c.pick for c in cands) else "ratio to best"), "accuracy",
                       *extra_columns, ("gops", "GOP/s"), ("peak_fraction", "% of peak"), ("block_cv", "block CV"),
                       "inputs", "how"])
        opened: list[tuple[int, Candidate, PreparedBenchmark, str]] = []
        with measured(table, threads):
            for i, cand in enumerate(cands):
                try:
                    bench, inputs = _open(cand, threads, model.data, config)
                    bench.warmup()
                    opened.append((i, cand, bench, inputs))
                except Exception as exc:
                    suite.skip(f"{model.name}: {cand.stack} {cand.precision} @{threads}t", one_line(exc))
            try:
                results = interleaved([(lambda b=b: b.block(ctx.block_runs, ctx.block_s)) for _, _, b, _ in opened],
                                      blocks=ctx.blocks, names=[f"{c.stack} {c.precision}" for _, c, _, _ in opened])
            finally:
                for _, _, bench, _ in opened:
                    bench.close()
        best = min((r.median_ms for r in results), default=None)
        pick = next((r.median_ms for (_, c, _, _), r in zip(opened, results) if c.pick), None)
        if pick is None:
            table.notes.append("ratio is to the fastest row (edgeport's recommended variant is not in this table yet)")
        else:
            table.notes.append("ratio is to edgeport's recommended variant")
        for (i, cand, _, inputs), res in zip(opened, results):
            gops = 2 * model.macs / (res.median_ms / 1e3) / 1e9 if model.macs else None
            peak = peaks.get(f"{_peak_kind(cand.precision)}@{threads}")
            table.add(stack=cand.stack + (f" {PICK_MARK}" if cand.pick else ""), precision=cand.precision,
                      median_ms=res.median_ms, p99_ms=res.p99_ms, ratio=ratio(res.median_ms, pick or best),
                      accuracy=accuracy.get(i), **{k: extra.get(i, {}).get(k) for k in extra_columns}, gops=gops,
                      peak_fraction=None if gops is None or not peak else gops / peak,
                      block_cv=res.block_cv, inputs=inputs, how=cand.how, runtime=cand.runtime,
                      block_medians_ms=res.block_medians_ms, runs=res.stats.count)
        if model.macs:
            table.notes.append(f"GOP/s = 2 × {model.macs / 1e6:.1f} M MACs (edgeport profile, conv/matmul/gemm) "
                               "/ median; % of peak uses the hardware-limit suite's GEMM peak of the row's precision "
                               "(int8 and bf16 rows: their own peak, others fp32)")
        suite.tables.append(table)
        tables.append(table)
    return tables


def profile_macs(onnx: Path) -> int | None:
    try:
        from edgeport.analysis.profile import profile
    except ImportError:
        return None
    return int(profile(onnx).macs)


def run_per_model(ctx: Context, suite: SuiteResult, models: tuple[str, ...],
                  candidates: Callable[[Context, ModelUnderTest], list[Candidate]],
                  describe: Callable[[list[Candidate], ModelUnderTest], Table] | None = None) -> None:
    """The per-stack suites' loop: per model, build its candidates, record what they are, measure them interleaved.

    A model whose candidates cannot be built is listed as skipped with the reason; the others still run.
    """
    for name in models:
        try:
            model = model_under_test(ctx, name)
            cands = candidates(ctx, model)
            detail = describe(cands, model) if describe is not None and cands else None
        except Exception as exc:  # one model failing must not lose the others' numbers
            suite.skip(name, one_line(exc))
            continue
        if detail is not None:
            with measured(detail, 1):  # a description, not a timing: the conditions still say when it was made
                pass
            suite.tables.append(detail)
        if cands:
            measure_model(ctx, model, cands, suite)
