"""Precision × stack through ``edgeport.compress.quantize``: size, latency (1 and 2 threads), accuracy.

Per reference model, every precision edgeport's one quantisation vocabulary offers (int8, fp16,
int16x8) on every installed stack (ONNX Runtime passes; LiteRT, OpenVINO/NNCF and ExecuTorch
through their converters), next to the float model on ONNX Runtime. Digits is calibrated and
judged on real data (test-split accuracy per row); the ImageNet-shaped reference models are
calibrated on synthetic inputs (no accuracy column) — their latency and size are still real.
"""

from __future__ import annotations

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line
from benchmarks.stacks import DEPTH_MODELS, Candidate, ModelUnderTest, measure_model, model_under_test

NAME = "precision"
TITLE = "Precision × stack (edgeport quantize): size, latency at 1/2 threads, digits accuracy"
ORDER = 45

MODELS = DEPTH_MODELS
STACK_LABELS = {"ort": "ONNX Runtime", "tflite": "LiteRT", "openvino": "OpenVINO", "executorch": "ExecuTorch"}


def _runtime_for(artifact: object) -> str:
    from edgeport.runtimes.base import runtimes_for

    fmt = artifact.format  # type: ignore[attr-defined]
    ready = [c for c in runtimes_for(fmt) if c.runnable_here and c.available()]
    if not ready:
        raise RuntimeError(f"no runtime here runs {fmt.value}")
    return ready[0].name


def _candidates(ctx: Context, model: ModelUnderTest, suite: SuiteResult, sizes: Table) -> list[Candidate]:
    from edgeport.compress.quantize import PRECISIONS, STACKS, quantize
    from edgeport.core.artifact import load_artifact
    from edgeport.core.inputs import synthetic_feeds

    work = ctx.work_dir / model.name / "precision"
    work.mkdir(parents=True, exist_ok=True)
    source = load_artifact(model.pt2)
    data = model.data or synthetic_feeds(source.inputs, count=64, seed=0)
    stacks = ["ort"] if ctx.smoke else list(STACKS)
    cands: list[Candidate] = []
    float_added = False
    for stack in stacks:
        for precision in PRECISIONS:
            out = work / f"{model.name}-{stack}-{precision}{STACKS[stack].suffix}"
            try:
                r = quantize(source, precision, data, out=out, stack=stack, measure_speed=False)
            except Exception as exc:  # one stack failing must not lose the others' numbers
                suite.skip(f"{model.name}: {stack} {precision}", one_line(exc))
                continue
            if stack == "ort" and not float_added:
                float_art = load_artifact(r.float_model)
                cands.append(Candidate("ONNX Runtime", "onnxruntime", "fp32", float_art, how="float parent"))
                float_added = True
            try:
                runtime = _runtime_for(r.artifact)
            except RuntimeError as exc:
                suite.skip(f"{model.name}: {stack} {precision} latency", str(exc))
                runtime = ""
            sizes.add(stack=STACK_LABELS[stack], precision=precision, method=r.method,
                      size_kb=r.size_bytes / 1024, float_kb=r.float_size_bytes / 1024, ratio=r.size_ratio,
                      accuracy=r.accuracy, drop=r.accuracy_drop)
            if runtime:
                cands.append(Candidate(STACK_LABELS[stack], runtime, precision, r.artifact, how=r.method))
    return cands


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    for name in (("digits",) if ctx.smoke else MODELS):
        try:
            model = model_under_test(ctx, name)
        except Exception as exc:  # noqa: BLE001 - a model that cannot be built is skipped, not fatal
            suite.skip(name, one_line(exc))
            continue
        sizes = Table(f"{name}: size and test-split accuracy per precision × stack",
                      ["stack", "precision", "method", ("size_kb", "size KiB"), ("float_kb", "float KiB"),
                       ("ratio", "size ratio"), "accuracy", ("drop", "accuracy drop")])
        with measured(sizes):
            cands = _candidates(ctx, model, suite, sizes)
        if model.data is None:
            sizes.notes.append("calibrated on synthetic inputs: no accuracy for this model")
        suite.tables.append(sizes)
        if cands:
            measure_model(ctx, model, cands, suite)
    suite.notes.append("ORT int8 is static QDQ (per-channel, MinMax); ORT fp16 casts back to fp32 on CPU; "
                       "rows missing a stack/precision are listed as skipped with the reason")
    return suite
