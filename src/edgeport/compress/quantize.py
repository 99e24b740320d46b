"""``quantize``: one vocabulary (int8 | fp16 | int16x8) over every stack's quantiser.

Dispatch by the requested stack (``edgeport.compress.stacks``; default: the model's own, ``ort``
for PyTorch) and precision, from what the passes and converters declare:

* a pass whose ``sweeps`` make the precision within the stack's format runs on the float model in
  that format (converted first when the source is another format), with the options the sweep
  point declares — ``ort``: int8 → static QDQ per-channel (the fast ORT path; dynamic int8 is slow
  for conv nets on CPU), int16x8 → static QDQ with int16 activations, fp16 → onnxconverter-common;
  ``openvino``: int8 → NNCF. ``options={"method": PASS}`` picks another pass of that format.
* otherwise the registered converter into that format whose ``precisions`` include the request
  (LiteRT int8/int16x8, ExecuTorch PT2E int8, OpenVINO/Core ML fp16), fed from the source model;
  the float model on the same stack is converted too, for comparison.

Every result reports size, accuracy on the test split and batch-1 latency against the float
parent (interleaved timing), and says loudly when the quantised model is slower.

``max_accuracy_drop`` holds the result to a test-split budget: ORT static quantisation runs the
mixed-precision search (sensitive layers kept float), a pass whose options take
``max_accuracy_drop`` controls accuracy itself (OpenVINO: NNCF accuracy control), LiteRT walks a precision
ladder (int8 → int16x8 → weights-only int8, as its converters offer; they cannot keep single
layers float). An unmet budget raises ``BudgetNotMet`` carrying the best result found.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.compress.measure import Latency, accuracy_on, compare_latency, slower_warning
from edgeport.compress.mixed import MixedPrecisionResult, parse_budget
from edgeport.compress.stacks import PRECISIONS, STACKS, default_stack, pass_point
from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.formats import Format
from edgeport.core.inputs import InputPlan
from edgeport.data.datasets import Dataset
from edgeport.errors import BudgetNotMet, ConfigError, UnsupportedError

__all__ = ["PRECISIONS", "STACKS", "QuantizeResult", "quantize"]


@dataclass
class QuantizeResult:
    model: str
    precision: str
    stack: str
    method: str  # the pass or converter that quantised
    artifact: Artifact
    float_model: str  # the float parent the numbers are compared with
    size_bytes: int
    float_size_bytes: int
    accuracy: float | None
    float_accuracy: float | None
    accuracy_drop: float | None  # float − quantised, on the test split (fraction)
    split: str = "test"
    latency: Latency | None = None
    float_latency: Latency | None = None
    speedup: float | None = None  # float median / quantised median (> 1 = faster)
    slower_than_float: bool = False
    warnings: list[str] = field(default_factory=list)
    mixed_precision: MixedPrecisionResult | None = None  # ORT layer-exclusion search
    budget: float | None = None  # max accuracy drop asked for (fraction)
    budget_met: bool | None = None  # None: no budget asked
    tried: list[dict[str, Any]] = field(default_factory=list)  # precision ladder (stacks without layer exclusion)
    options: dict[str, Any] = field(default_factory=dict)
    kind: str = "quantize"

    @property
    def size_ratio(self) -> float:
        return self.size_bytes / self.float_size_bytes if self.float_size_bytes else float("nan")


def quantize(model: Artifact | str | Path, precision: str = "int8", data: Dataset | str | None = None,
             out: str | Path | None = None, stack: str | None = None, *,
             max_accuracy_drop: float | str | None = None, options: dict[str, Any] | None = None,
             max_float_layers: int | None = None, threads: int = 1, measure_speed: bool = True,
             shapes: Any = None, inputs: Any = None) -> QuantizeResult:
    """Quantise ``model`` to ``precision`` on ``stack`` and measure it against its float parent, with the
    input shapes/values ``shapes``/``inputs`` give (see ``edgeport.InputPlan``)."""
    from edgeport.data.datasets import load_dataset

    if precision not in PRECISIONS:
        raise ConfigError(f"precision {precision!r} is not supported", fix=f"use one of: {', '.join(PRECISIONS)}")
    if data is None:
        raise ConfigError("quantize needs a dataset (calibration + accuracy on the test split)",
                          fix="pass --data digits or an .npz with x, y")
    dataset = load_dataset(data) if not isinstance(data, Dataset) else data
    source = model if isinstance(model, Artifact) else load_artifact(model)
    source = source.with_inputs(InputPlan.parse(shapes, inputs))
    stack = stack or default_stack(source.format)
    known = dict(STACKS)
    if stack not in known:
        raise ConfigError(f"unknown stack {stack!r}", fix=f"use one of: {', '.join(known)}")
    budget = parse_budget(max_accuracy_drop) if max_accuracy_drop is not None else None
    target = known[stack]
    out_path = Path(out) if out is not None else source.path.with_name(
        f"{source.path.stem}.{precision}{target.suffix}")
    extra = dict(options or {})
    if "method" in extra or pass_point(target, precision) is not None:
        result = _quantize_pass(source, precision, dataset, out_path, stack, budget, extra, max_float_layers)
    elif budget is not None and stack == "tflite" and precision == "int8":
        result = _quantize_ladder(source, dataset, out_path, stack, budget, options or {})
    else:
        if budget is not None:
            raise UnsupportedError(f"--max-accuracy-drop is not supported for stack {stack!r} {precision} yet",
                                   fix="use --stack ort (layer exclusion) or --stack openvino (NNCF accuracy control)")
        result = _quantize_converter(source, precision, dataset, out_path, stack, options or {})
    if measure_speed:
        _add_latency(result, dataset, threads)
    if result.budget_met is False:
        kept = "" if result.mixed_precision is None else \
            f" with {len(result.mixed_precision.float_layers)} layer(s) in float"
        err = BudgetNotMet(f"no configuration meets the accuracy budget {budget:.2%}: best found drops "
                           f"{_fmt(result.accuracy_drop)}{kept} (written to {result.artifact.path})",
                           fix="raise --max-accuracy-drop, add calibration data, or try QAT")
        err.result = result  # type: ignore[attr-defined]
        raise err
    return result


def _fmt(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2%}"


def _float_parent(source: Artifact, fmt: Format, data: Dataset, out: Path) -> Artifact:
    """The float model in ``fmt`` (converted once next to the output when the source is another format)."""
    if source.format is fmt:
        return source
    from edgeport.convert.api import convert

    return convert(source, fmt, out=out.with_name(f"{out.stem}.float{fmt.suffix}"), data=data,
                   options={"precision": "fp32"}).artifact


def _quantize_pass(source: Artifact, precision: str, data: Dataset, out: Path, stack: str, budget: float | None,
                   extra: dict[str, Any], max_float_layers: int | None = None) -> QuantizeResult:
    """The pass that makes ``precision`` within the stack's format, on the float model in that format."""
    from edgeport.passes import PASSES
    from edgeport.passes.base import coerce_options

    fmt = STACKS[stack]
    found = pass_point(fmt, precision)
    if "method" in extra:  # e.g. {"method": "onnx-quantize-dynamic"} or a QOperator static config
        pass_cls, defaults = PASSES.get(str(extra["method"])), {}
    else:
        assert found is not None
        pass_cls, defaults = found.pass_cls, dict(found.point.options)
    opts = coerce_options(pass_cls.Options, {**defaults, **{k: v for k, v in extra.items() if k != "method"}},
                          f"pass {pass_cls.name!r}")
    controls_accuracy = "max_accuracy_drop" in {f.name for f in dataclasses.fields(pass_cls.Options)}
    if budget is not None and not (_searches_layers(pass_cls) or controls_accuracy):
        raise UnsupportedError(f"--max-accuracy-drop needs static quantisation (layers kept float) or a pass "
                               f"with accuracy control, not {pass_cls.name}",
                               fix="use --precision int8 or int16x8")
    parent = _float_parent(source, fmt, data, out)
    mixed: MixedPrecisionResult | None = None
    method = pass_cls.name
    if budget is None:
        artifact = pass_cls().apply(parent, out, opts, data)
    elif _searches_layers(pass_cls):
        from edgeport.compress.mixed import search_onnx

        artifact, mixed = search_onnx(parent, data, budget, out, opts, max_float_layers=max_float_layers)
    else:  # the pass controls accuracy itself (NNCF accuracy control)
        opts = dataclasses.replace(opts, max_accuracy_drop=budget)
        artifact = pass_cls().apply(parent, out, opts, data)
        method = f"{pass_cls.name} (accuracy control)"
    m = dict(artifact.step.metrics) if artifact.step else {}
    drop = m.get("accuracy_drop")
    if budget is None:
        met = None
    else:
        met = mixed.met if mixed is not None else drop is not None and drop <= budget + 1e-9
    return QuantizeResult(model=str(source.path), precision=precision, stack=stack, method=method,
                          artifact=artifact, float_model=str(parent.path), size_bytes=artifact.size_bytes(),
                          float_size_bytes=parent.size_bytes(), accuracy=m.get("accuracy"),
                          float_accuracy=m.get("parent_accuracy"), accuracy_drop=drop,
                          warnings=list(artifact.metadata.get("warnings", [])), mixed_precision=mixed,
                          options=dataclasses.asdict(opts), budget=budget, budget_met=met)


def _searches_layers(pass_cls: type[Any]) -> bool:
    """The mixed-precision search drives ORT static quantisation (it keeps layers float by name)."""
    from edgeport.passes.onnx_quantize_static import OnnxQuantizeStatic

    return issubclass(pass_cls, OnnxQuantizeStatic)


def _quantize_converter(source: Artifact, precision: str, data: Dataset, out: Path, stack: str,
                        extra: dict[str, Any]) -> QuantizeResult:
    from edgeport.convert import CONVERTERS
    from edgeport.convert.api import convert
    from edgeport.convert.planner import plan_paths

    target = STACKS[stack]
    if not [c for c in CONVERTERS if c.target is target]:
        raise UnsupportedError(f"no converter to {target.value} is installed in this edgeport",
                               fix="use --stack ort, or install the edgeport version that ships that stack")
    if source.format is target:
        raise UnsupportedError(f"{source.path.name} is already {target.value}: the {stack} quantisers work during "
                               "conversion", fix="quantize the source model (.pt2 / .onnx) with --stack " + stack)
    plans = plan_paths(source.format, target)
    able = [p for p in plans if precision in p.steps[-1].precisions]
    if not able:
        offered = sorted({q for p in plans for q in p.steps[-1].precisions})
        raise UnsupportedError(f"no {stack} converter path from {source.format.value} produces {precision}",
                               fix=f"from {source.format.value} it produces: {', '.join(offered) or 'nothing'}")
    ready = [p for p in able if not p.missing()]
    if not ready:
        missing = next(c for c in able[0].steps if not c.available())
        missing.require()  # raises MissingDependencyError naming the extra
    result = convert(source, target, out=out, data=data, options={"precision": precision, **extra})
    quant = result.artifact
    warnings: list[str] = []
    float_art: Artifact | None = None
    last = CONVERTERS.get(result.converters[-1])
    if "fp32" in last.precisions:
        float_out = out.with_name(f"{out.stem}.float{target.suffix}")
        float_art = convert(source, target, out=float_out, data=data, options={"precision": "fp32"},
                            via=result.converters).artifact
    else:
        warnings.append(f"{last.name} has no fp32 output: compared with the source model instead")
    parent = float_art or source
    if result.verification is not None and not result.verification.passed:
        warnings.append("verification against the source failed: " + "; ".join(result.verification.failures()[:3]))
    acc = _try_accuracy(quant, data, warnings)
    float_acc = _try_accuracy(parent, data, warnings)
    drop = None if acc is None or float_acc is None else float_acc - acc
    metrics = {"size_bytes": quant.size_bytes(), "parent_size_bytes": parent.size_bytes(), "accuracy": acc,
               "parent_accuracy": float_acc, "accuracy_drop": drop, "split": "test"}
    step = quant.step
    if step is not None:
        quant = dataclasses.replace(quant, step=dataclasses.replace(step, metrics={**dict(step.metrics), **metrics}))
    return QuantizeResult(model=str(source.path), precision=precision, stack=stack,
                          method=" → ".join(result.converters), artifact=quant, float_model=str(parent.path),
                          size_bytes=quant.size_bytes(), float_size_bytes=parent.size_bytes(), accuracy=acc,
                          float_accuracy=float_acc, accuracy_drop=drop, warnings=warnings,
                          options={"precision": precision, **extra})


# Stacks whose converters cannot keep single layers in float fall back along this ladder, most
# compressed first: full int8, int16 activations, then weights-only int8 (float activations).
_LADDER = ("int8", "int16x8", "int8-dynamic")


def _quantize_ladder(source: Artifact, data: Dataset, out: Path, stack: str, budget: float,
                     extra: dict[str, Any]) -> QuantizeResult:
    """The first precision on the ladder whose measured test-split drop fits ``budget`` (else the best)."""
    import shutil

    from edgeport.convert.planner import plan_paths

    offered = {q for p in plan_paths(source.format, STACKS[stack]) if not p.missing() for q in p.steps[-1].precisions}
    steps = [p for p in _LADDER if p in offered]
    if "int8" not in steps:
        raise UnsupportedError(f"no {stack} converter path from {source.format.value} produces int8",
                               fix=f"it produces: {', '.join(sorted(offered)) or 'nothing'}")
    tried: list[dict[str, Any]] = []
    best: QuantizeResult | None = None
    for precision in steps:
        cand_out = out if precision == "int8" else out.with_name(f"{out.stem}.{precision}{out.suffix}")
        r = _quantize_converter(source, precision, data, cand_out, stack, extra)
        meets = r.accuracy_drop is not None and r.accuracy_drop <= budget + 1e-9
        tried.append({"precision": precision, "accuracy": r.accuracy, "accuracy_drop": r.accuracy_drop,
                      "size_bytes": r.size_bytes, "meets_budget": meets, "path": str(r.artifact.path)})
        if best is None or (r.accuracy_drop is not None and best.accuracy_drop is not None
                            and r.accuracy_drop < best.accuracy_drop - 1e-9):
            best = r
        if meets:
            best = r
            break
    assert best is not None  # int8 is always on the ladder (checked by the caller's precision)
    if best.artifact.path != out:  # the chosen model lives at OUT
        shutil.copy2(best.artifact.path, out)
        best.artifact = dataclasses.replace(best.artifact, path=out)
    best.precision = str(best.options.get("precision", "int8"))
    best.budget, best.tried = budget, tried
    best.budget_met = any(t["meets_budget"] and t["precision"] == best.precision for t in tried)
    if best.precision != "int8":
        best.warnings.append(f"int8 missed the {budget:.2%} budget on {stack}: fell back to {best.precision} "
                             f"({stack} converters cannot keep single layers in float)")
    return best


def _try_accuracy(artifact: Artifact, data: Dataset, warnings: list[str]) -> float | None:
    from edgeport.errors import EdgeportError

    try:
        return accuracy_on(artifact, data)
    except EdgeportError as exc:
        warnings.append(f"accuracy of {artifact.path.name} not measured here: {exc}")
        return None


def _add_latency(result: QuantizeResult, data: Dataset, threads: int) -> None:
    parent = load_artifact(result.float_model)
    quant, float_lat = compare_latency(result.artifact, parent, data, threads=threads)
    result.latency, result.float_latency = quant, float_lat
    if quant is None or float_lat is None:
        result.warnings.append("latency not measured: no runtime on this host runs "
                               f"{result.artifact.format.value}")
        return
    result.speedup = float_lat.median_ms / quant.median_ms if quant.median_ms else None
    loud = slower_warning(quant, float_lat, f"the {result.precision} model ({result.method})")
    if loud:
        result.slower_than_float = True
        result.warnings.append(loud)
