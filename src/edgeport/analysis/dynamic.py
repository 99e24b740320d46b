"""Dynamic shapes: which dims are dynamic, which targets reject or slow them, and fixing them.

``dynamic_report`` lists the model inputs' dynamic dims, the suggested fixed values (batch → 1,
other symbolic dims → the value the dataset uses, else 1) and, per target, whether its preferred
execution path rejects dynamic shapes (NNAPI, Core ML NeuralNetwork, the ANE, QNN, Edge TPU,
TFLite Micro, the GPU delegate) or runs them slower (XNNPACK, Core ML ML Program, OpenVINO).
``fix_dynamic_shapes`` writes an ONNX copy with the dims fixed (the logic of ONNX Runtime's
``make_dynamic_shape_fixed``: set the graph input dims, then re-run shape inference).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.analysis.rules import get_rules
from edgeport.core.target import get_target
from edgeport.errors import ConfigError, UnsupportedError
from edgeport.graph.load import load_graph

__all__ = ["DynamicDim", "DynamicReport", "dynamic_report", "fix_dynamic_shapes"]


@dataclass
class DynamicDim:
    tensor: str
    axis: int
    name: str  # the symbolic name ("batch"), "?" when unnamed
    suggested: int


@dataclass
class DynamicReport:
    model: str
    dims: list[DynamicDim]
    rejected_by: dict[str, list[str]] = field(default_factory=dict)  # target -> paths that reject
    slowed_on: dict[str, list[str]] = field(default_factory=dict)  # target -> paths that de-accelerate
    suggested_shapes: dict[str, list[int]] = field(default_factory=dict)
    enumerated: dict[str, list[list[int]]] = field(default_factory=dict)  # e.g. batch 1/4/8 for Core ML
    verdict: str = ""


def dynamic_report(model: Any, targets: list[str] | None = None, *,
                   hints: dict[str, int] | None = None) -> DynamicReport:
    graph = load_graph(model)
    dims: list[DynamicDim] = []
    shapes: dict[str, list[int]] = {}
    enumerated: dict[str, list[list[int]]] = {}
    for name in graph.inputs:
        t = graph.tensor(name)
        if t is None or t.shape is None or t.is_constant:
            continue
        fixed: list[int] = []
        for axis, d in enumerate(t.shape):
            if isinstance(d, int) and d > 0:
                fixed.append(d)
                continue
            label = d if isinstance(d, str) else "?"
            value = (hints or {}).get(label, 1)
            dims.append(DynamicDim(name, axis, label, value))
            fixed.append(value)
        shapes[name] = fixed
        if any(x.tensor == name and x.axis == 0 for x in dims):
            enumerated[name] = [[b, *fixed[1:]] for b in (1, 4, 8)]
    ids = targets or ["pixel-8", "galaxy-s24", "iphone-15-pro", "coral-edgetpu", "stm32h743", "rpi5", "host"]
    rejected: dict[str, list[str]] = {}
    slowed: dict[str, list[str]] = {}
    for tid in ids:
        tgt = get_target(tid)
        for path in tgt.paths:
            mode = get_rules(path).dynamic_shapes
            if mode == "reject":
                rejected.setdefault(tgt.id, []).append(path)
            elif mode == "slow":
                slowed.setdefault(tgt.id, []).append(path)
    if not dims:
        verdict = "all input shapes are static"
    else:
        names = ", ".join(f"{d.tensor}[{d.axis}]={d.name}" for d in dims)
        verdict = (f"{len(dims)} dynamic dim(s) ({names}); rejected by "
                   f"{sum(1 for t in rejected)} of {len(ids)} targets' accelerators — fix to "
                   + "; ".join(f"{k}={v}" for k, v in shapes.items()))
    return DynamicReport(graph.name, dims, rejected if dims else {}, slowed if dims else {}, shapes, enumerated,
                         verdict)


def fix_dynamic_shapes(model: Any, out: str | Path, shapes: dict[str, list[int]] | None = None, *,
                       dims: dict[str, int] | None = None) -> Path:
    """Write an ONNX copy with dynamic input dims fixed; ``shapes`` per input or ``dims`` by symbolic name.

    With neither, every dynamic dim becomes 1. Shape inference re-runs so intermediate shapes are static.
    """
    from edgeport._optional import require
    from edgeport.core.artifact import Artifact, load_artifact
    from edgeport.core.formats import Format

    onnx = require("onnx", "onnx", "fixing dynamic shapes")
    art = model if isinstance(model, Artifact) else load_artifact(model)
    if art.format != Format.ONNX:
        raise UnsupportedError(f"{art.path.name}: fixing shapes works on ONNX models, not {art.format.value}",
                               fix="fix the shapes before converting (or convert with a fixed input shape)")
    proto = onnx.load_model(str(art.path))
    inits = {i.name for i in proto.graph.initializer}
    wanted = dict(shapes or {})
    for vi in proto.graph.input:
        if vi.name in inits:
            continue
        tdims = vi.type.tensor_type.shape.dim
        target = wanted.pop(vi.name, None)
        if target is not None and len(target) != len(tdims):
            raise ConfigError(f"shape {target} for input {vi.name!r} has rank {len(target)}, the model's is "
                              f"{len(tdims)}", fix="give one value per dim")
        for axis, d in enumerate(tdims):
            if target is not None:
                value = int(target[axis])
            elif d.HasField("dim_value") and d.dim_value > 0:
                continue
            else:
                value = int((dims or {}).get(d.dim_param, 1))
            d.Clear()
            d.dim_value = value
    if wanted:
        raise ConfigError(f"no model input named {sorted(wanted)}", fix="inputs: " + ", ".join(
            v.name for v in proto.graph.input if v.name not in inits))
    # outputs and intermediates: drop stale symbolic shapes, re-infer from the fixed inputs
    del proto.graph.value_info[:]
    for vi in proto.graph.output:
        for d in vi.type.tensor_type.shape.dim:
            if not d.HasField("dim_value"):
                d.Clear()
    proto = onnx.shape_inference.infer_shapes(proto, data_prop=True)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    try:
        onnx.save_model(proto, str(tmp))
        onnx.checker.check_model(str(tmp))
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out
