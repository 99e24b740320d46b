"""The latency predictor (``edgeport.predict``): how often is an estimate within ±10 % / ±20 % of a measurement?

Models: the generated calibration family, the out-of-family reference nets (ResNet-18, MobileNetV2 at
two sizes, built with seeded weights) and the zoo's static-shape ONNX models where ``make zoo`` fetched
them. Each is measured once per host runtime at 1 thread (median of a short benchmark). Then, per runtime:

* **uncalibrated**: the host profile's prior terms, no fit;
* **calibrated on 10**: fit on 10 random models, predict every other one (5 random splits, pooled);
* **leave-one-model-out**: fit on all others, predict the one left out.

A held-out prediction counts as *covered* when the measurement lies inside the estimate's interval.
Measured latency is what ``edgeport calibrate`` measures: the lowest of three short block medians.
Smoke mode skips the suite (it measures ~40 models per runtime).
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

from benchmarks.lib import Context, SuiteResult, Table, measured, one_line

NAME = "predictor"
TITLE = "Latency predictor: share of models within ±10 % / ±20 % (calibrated) and 3× (uncalibrated), 1 thread"
ORDER = 58

HOST_RUNTIMES = ("onnxruntime", "openvino")
SPLITS = 5
CALIBRATION_SIZE = 10


def _zoo_models() -> list[tuple[str, Path, tuple[str, ...]]]:
    root = Path(__file__).resolve().parents[2] / "tests" / "realmodels"
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    import zoo

    out = []
    for m in zoo.load_manifest().values():
        if m.suffix == ".onnx" and not m.inputs and zoo.missing(m) is None:
            out.append((f"zoo:{m.id}", m.path(), tuple(m.shapes)))
    return out


def _models(ctx: Context, suite: SuiteResult) -> list[tuple[str, Path, tuple[str, ...]]]:
    from edgeport.predict.family import FAMILY, REFERENCE, build_net

    nets = ctx.work_dir / "predictor"
    models = [(s.name, build_net(s, nets / f"{s.name}.onnx", seed=i), ()) for i, s in enumerate(FAMILY + REFERENCE)]
    try:
        models += _zoo_models()
    except Exception as exc:
        suite.skip("zoo models", one_line(exc))
    return models


def _measure(runtime: str, models: list[tuple[str, Path, tuple[str, ...]]], suite: SuiteResult) -> list[Any]:
    from edgeport.analysis.shaped import plan_from, shaped_graph
    from edgeport.core.artifact import load_artifact
    from edgeport.core.inputs import InputPlan
    from edgeport.core.target import get_target
    from edgeport.errors import EdgeportError
    from edgeport.predict.calibrate import bench_config, measure_latency_s, resolve_device
    from edgeport.predict.costmodel import features
    from edgeport.predict.fit import Sample

    host = get_target("host")
    dev = resolve_device("host", runtime, threads=1)
    samples = []
    for name, path, shapes in models:
        try:
            graph = shaped_graph(path, plan_from(path, list(shapes) or None, None))
            art = load_artifact(path).with_inputs(InputPlan.parse(list(shapes) or None, None))
            samples.append(Sample(name, features(graph, host), measure_latency_s(art, dev, bench_config())))
        except EdgeportError as exc:
            suite.skip(f"{name} on {runtime}", one_line(exc))
    return samples


def _share(errors: list[float], bound: float) -> float | None:
    return sum(abs(e) <= bound for e in errors) / len(errors) if errors else None


def _evaluate(samples: list[Any]) -> dict[str, Any]:
    from edgeport.core.target import get_target
    from edgeport.predict.calibrate import interval_of
    from edgeport.predict.costmodel import CostParams, predict_seconds
    from edgeport.predict.fit import fit_params, leave_one_out

    prior_terms = get_target("host").predictor
    prior = CostParams.from_prior(prior_terms)
    ratio = [predict_seconds(s.features, prior) / s.measured_s for s in samples]
    within_k = sum(1 / 3 <= r <= 3 for r in ratio) / len(ratio)
    fp32 = [s for s in samples if s.features.precision == "fp32"]
    loo = leave_one_out(fp32, prior)
    rng = random.Random(0)
    held, covered = [], 0
    for _ in range(SPLITS):
        cal = rng.sample(range(len(fp32)), CALIBRATION_SIZE)
        train = [fp32[i] for i in cal]
        params = fit_params(train, prior)
        x = interval_of(leave_one_out(train, prior))
        for i, s in enumerate(fp32):
            if i in cal:
                continue
            e = predict_seconds(s.features, params) / s.measured_s - 1
            held.append(e)
            covered += abs(e) <= x
    return {"n": len(samples), "n_fp32": len(fp32), "uncal_3x": within_k,
            "uncal_20": sum(abs(r - 1) <= 0.2 for r in ratio) / len(ratio),
            "cal10_10": _share(held, 0.1), "cal10_20": _share(held, 0.2),
            "cal10_covered": covered / len(held) if held else None,
            "loo_10": _share(loo, 0.1), "loo_20": _share(loo, 0.2),
            "loo_by_model": dict(zip((s.name for s in fp32), loo)),
            "ratio_by_model": dict(zip((s.name for s in samples), ratio)),
            "measured_ms": {s.name: s.measured_s * 1e3 for s in samples}}


def run(ctx: Context) -> SuiteResult:
    from edgeport.runtimes import RUNTIMES

    suite = SuiteResult(NAME, TITLE)
    if ctx.smoke:
        suite.skip("predictor", "smoke mode: the suite measures ~40 models per runtime")
        return suite
    models = _models(ctx, suite)
    summary = Table("Share of models predicted within a bound (1 thread; fp32 for the calibrated columns)",
                    [["runtime", "runtime"], ["n", "models"], ["uncal_3x", "uncalibrated within 3×"],
                     ["uncal_20", "uncalibrated ±20 %"], ["cal10_10", "calibrated on 10: ±10 %"],
                     ["cal10_20", "calibrated on 10: ±20 %"], ["cal10_covered", "inside its interval"],
                     ["loo_10", "leave-one-out: ±10 %"], ["loo_20", "leave-one-out: ±20 %"]])
    detail = Table("Per model (ONNX Runtime): measured median, uncalibrated ratio, leave-one-out error",
                   [["model", "model"], ["measured_ms", "measured ms"], ["ratio", "uncalibrated / measured"],
                    ["loo", "leave-one-out error"]])
    results = {}
    for runtime in _installed(RUNTIMES):
        with measured(summary, threads=1):
            samples = _measure(runtime, models, suite)
        if len(samples) < CALIBRATION_SIZE + 2:
            suite.skip(runtime, f"only {len(samples)} models measured")
            continue
        r = _evaluate(samples)
        results[runtime] = r
        summary.add(runtime=runtime, **{k: r[k] for k in ("n", "uncal_3x", "uncal_20", "cal10_10", "cal10_20",
                                                           "cal10_covered", "loo_10", "loo_20")})
        if runtime == "onnxruntime":
            for name, ms in r["measured_ms"].items():
                detail.add(model=name, measured_ms=ms, ratio=r["ratio_by_model"][name], loo=r["loo_by_model"].get(name))
    suite.tables += [summary, detail]
    ort = results.get("onnxruntime")
    if ort:
        suite.target("ORT calibrated on 10: share outside ±10 %", 1 - ort["cal10_10"], 0.1, "",
                     note="goal: ≥ 90 % within ±10 %")
        suite.target("ORT uncalibrated: share outside 3×", 1 - ort["uncal_3x"], 0.1, "", note="goal: ≥ 90 % within 3×")
    suite.notes.append("LiteRT and ExecuTorch are not measured: each calibration network would need an ONNX→TFLite "
                       "or torch→ExecuTorch conversion; the transfer to a throttled remote device waits for the agent")
    return suite


def _installed(registry: Any) -> list[str]:
    """The installed subset of ``HOST_RUNTIMES``, in order."""
    return [r for r in HOST_RUNTIMES if r in registry.names() and registry.get(r).available()]
