"""``profile``: parameters, weight bytes, MACs/FLOPs per node and per op type, activation sizes.

Works on the format-neutral ``Graph`` through the rule table in ``analysis.cost_rules`` (ONNX
and TFLite op names), so every format with a graph reader is profiled by the same code.

Headline numbers
----------------
* ``macs`` — multiply-accumulates of convolutions and matrix products only (Conv,
  ConvTranspose, Gemm, MatMul incl. batched/attention MatMuls; TFLite CONV_2D,
  DEPTHWISE_CONV_2D, TRANSPOSE_CONV, FULLY_CONNECTED, BATCH_MATMUL...). Bias additions,
  pooling, normalisation, activations, elementwise ops, Resize and Softmax count 0 MACs. This
  matches ``torch.utils.flop_counter.FlopCounterMode`` (whose "FLOPs" are 2 × these MACs):
  ResNet-18 at 224 → 1.814 GMAC, MobileNetV2 at 224 → 300.8 MMAC.
* ``flops`` — all arithmetic: 2 per MAC, 1 per bias element, plus ``other_flops`` from the
  non-MAC operators (pooling compares/adds, normalisation, elementwise, Resize, Softmax; see
  ``cost_rules`` for the exact per-op constants).
* ``params`` — elements of the graph's constants that act as weights, counted on the graph as
  it is. BatchNorm running mean/variance are ``buffers`` (not parameters, as in PyTorch);
  shape/axes/index constants, scalars and quantisation scales/zero points are not parameters.
  When an exporter folds BatchNorm into the preceding convolution (``torch.onnx.export`` does
  by default), the graph has fewer parameters than the PyTorch module (γ and β of each BN
  become one conv bias): the profile reports the graph's count, not the module's.
* ``weight_bytes`` — bytes of all constants (what the model stores); ``file_bytes`` — size on
  disk including side files.

Symbolic dims (e.g. ``batch``) are bound to 1 unless ``dims`` says otherwise (``assumed_dims``
records the binding); an unknown dim is read as 1 and the node is marked ``exact=False``.
Subgraphs (If/Loop bodies) are not counted.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from edgeport.analysis.cost_rules import CostContext, roles_for, rule_for
from edgeport.core.formats import Format, detect_format
from edgeport.core.tensors import Dim
from edgeport.errors import UnsupportedError
from edgeport.graph.ir import Graph, TensorInfo
from edgeport.graph.load import GRAPH_FORMATS, load_graph

if TYPE_CHECKING:
    from edgeport.core.artifact import Artifact

__all__ = ["NodeProfile", "OpTypeProfile", "ProfileResult", "TensorSize", "profile", "profile_graph"]

_BITS = {"float32": 32, "float16": 16, "bfloat16": 16, "float64": 64, "int8": 8, "uint8": 8, "int16": 16,
         "uint16": 16, "int32": 32, "uint32": 32, "int64": 64, "uint64": 64, "bool": 8, "int4": 4, "uint4": 4,
         "complex64": 64, "complex128": 128}
_LITERAL_DTYPES = {"int32", "int64", "uint64", "uint32", "bool", "string"}


@dataclass
class NodeProfile:
    name: str
    op_type: str
    macs: int
    flops: int
    params: int  # weight elements among the node's constant inputs
    output_shape: list[Dim] | None
    activation_bytes: int  # bytes of the node's outputs (symbolic dims bound)
    exact: bool = True  # False when an unknown dim was read as 1


@dataclass
class OpTypeProfile:
    op_type: str
    count: int
    macs: int
    flops: int
    params: int


@dataclass
class TensorSize:
    name: str
    dtype: str | None
    shape: list[Dim] | None
    bytes: int


@dataclass
class ProfileResult:
    """Static cost of a model: see the module docstring for what each number counts."""

    model: str
    format: str
    opset: int | None
    params: int
    buffers: int
    weight_bytes: int
    file_bytes: int | None
    macs: int
    flops: int
    other_flops: int
    node_count: int
    nodes: list[NodeProfile]  # one row per graph node, in graph order (rows[i] ↔ graph.nodes[i])
    op_types: list[OpTypeProfile]  # sorted by MACs, then FLOPs
    activations: list[TensorSize]  # non-constant tensors, graph order
    activation_bytes: int  # sum over all activation tensors
    largest_activation: TensorSize | None
    inputs: list[TensorSize]
    outputs: list[TensorSize]
    symbolic_dims: list[str]
    assumed_dims: dict[str, int]
    unsupported_ops: list[str]  # op types with no cost rule (counted as 0), custom ops aside
    inexact_nodes: int
    shape_inference: str
    seconds: float
    kind: str = "profile"
    notes: list[str] = field(default_factory=list)
    custom_ops: list[str] = field(default_factory=list)  # TFLite custom/Flex ops: no MACs known, counted as 0

    def top_layers(self, n: int = 10) -> list[NodeProfile]:
        return sorted(self.nodes, key=lambda r: (r.macs, r.flops), reverse=True)[:n]


def _bytes(t: TensorInfo, bindings: dict[str, int]) -> int:
    if t.is_constant:
        return t.nbytes
    if t.shape is None or t.dtype is None:
        return 0
    n = 1
    for d in t.shape:
        n *= d if isinstance(d, int) and d >= 0 else bindings.get(d, 1) if isinstance(d, str) else 1
    return (n * _BITS.get(t.dtype, 32) + 7) // 8


def _size(t: TensorInfo, bindings: dict[str, int]) -> TensorSize:
    return TensorSize(t.name, t.dtype, None if t.shape is None else list(t.shape), _bytes(t, bindings))


def _constant_roles(graph: Graph) -> dict[str, str]:
    """Role of each constant tensor (weight | buffer | quant | literal); weight wins over the others."""
    rank = {"weight": 3, "buffer": 2, "quant": 1, "literal": 0}
    roles: dict[str, str] = {}
    for node in graph.nodes:
        explicit = roles_for(graph.format, node.op_type)
        for i, name in enumerate(node.inputs):
            t = graph.tensor(name)
            if t is None or not t.is_constant:
                continue
            role = explicit.get(i) or _default_role(t)
            if name not in roles or rank[role] > rank[roles[name]]:
                roles[name] = role
    for t in graph.constants():
        roles.setdefault(t.name, _default_role(t))
    return roles


def _default_role(t: TensorInfo) -> str:
    if t.dtype in _LITERAL_DTYPES or (t.numel is not None and t.numel <= 1):
        return "literal"
    return "weight"


def _symbols(graph: Graph) -> list[str]:
    seen: dict[str, None] = {}
    for name in graph.inputs:  # the graph's own symbols first, in input order
        t = graph.tensor(name)
        for d in (t.shape or ()) if t else ():
            if isinstance(d, str):
                seen.setdefault(d)
    for t in graph.tensors.values():
        for d in t.shape or ():
            if isinstance(d, str):
                seen.setdefault(d)
    return list(seen)


def profile_graph(graph: Graph, *, dims: dict[str, int] | None = None, file_bytes: int | None = None,
                  model: str | None = None) -> ProfileResult:
    """Profile an analysis ``Graph`` (see the module docstring for what is counted)."""
    start = time.perf_counter()
    symbols = _symbols(graph)
    bindings = {s: int((dims or {}).get(s, 1)) for s in symbols}
    bindings.update({k: int(v) for k, v in (dims or {}).items()})
    roles = _constant_roles(graph)
    ctx = CostContext(graph, bindings)
    rows: list[NodeProfile] = []
    unsupported: dict[str, None] = {}
    custom: dict[str, str] = {}  # op type -> "custom" | "flex"
    by_type: dict[str, OpTypeProfile] = {}
    total_macs = total_flops = 0
    for node in graph.nodes:
        ctx.exact = True
        rule = rule_for(graph.format, node.op_type)
        if rule is None:
            if node.domain in ("custom", "flex"):
                custom.setdefault(node.op_type, node.domain)
            else:
                unsupported.setdefault(node.op_type)
            macs = flops = 0
        else:
            cost = rule(node, ctx)
            macs, flops = cost.macs, cost.flops
            if node.attrs.get("fused_activation_function", "NONE") not in ("NONE", 0, None):
                flops += ctx.out_numel(node)  # TFLite's fused activation: 1 FLOP per output element
        explicit = roles_for(graph.format, node.op_type)
        params = sum(t.numel or 0 for k, i in enumerate(node.inputs)
                     if (t := graph.tensor(i)) is not None and t.is_constant
                     and (explicit.get(k) or _default_role(t)) == "weight")
        out = graph.tensor(node.outputs[0]) if node.outputs else None
        act = sum(_bytes(t, bindings) for o in node.outputs if (t := graph.tensor(o)) is not None
                  and not t.is_constant)
        rows.append(NodeProfile(node.name, node.op_type, macs, flops, params,
                                None if out is None or out.shape is None else list(out.shape), act,
                                ctx.exact and rule is not None))
        total_macs += macs
        total_flops += flops
        agg = by_type.setdefault(node.op_type, OpTypeProfile(node.op_type, 0, 0, 0, 0))
        agg.count += 1
        agg.macs += macs
        agg.flops += flops
        agg.params += params
    activations = [_size(t, bindings) for t in graph.tensors.values() if not t.is_constant]
    weights = [t for t in graph.constants() if roles.get(t.name) == "weight"]
    notes: list[str] = []
    if any(n.op_type == "BatchNormalization" for n in graph.nodes):
        notes.append("BatchNormalization running mean/variance counted as buffers, not parameters")
    for kind, label in (("custom", "TFLite custom op"), ("flex", "TensorFlow (Flex) op")):
        names = [op for op, d in custom.items() if d == kind]
        if names:
            notes.append(f"{label}{'s' if len(names) > 1 else ''} {', '.join(names)}: no MACs known (the kernel "
                         "comes with the app, not the runtime), counted as 0")
    if unsupported:
        notes.append(f"no cost rule for {', '.join(unsupported)}: counted as 0")
    return ProfileResult(
        model=model or str(graph.metadata.get("path", graph.name)), format=graph.format.value, opset=graph.opset,
        params=sum(t.numel or 0 for t in weights),
        buffers=sum(t.numel or 0 for t in graph.constants() if roles.get(t.name) == "buffer"),
        weight_bytes=graph.weight_bytes(), file_bytes=file_bytes, macs=total_macs, flops=total_flops,
        other_flops=total_flops - 2 * total_macs, node_count=len(graph.nodes), nodes=rows,
        op_types=sorted(by_type.values(), key=lambda o: (o.macs, o.flops, o.count), reverse=True),
        activations=activations, activation_bytes=sum(a.bytes for a in activations),
        largest_activation=max(activations, key=lambda a: a.bytes, default=None),
        inputs=[_size(graph.tensors[n], bindings) for n in graph.inputs if n in graph.tensors],
        outputs=[_size(graph.tensors[n], bindings) for n in graph.outputs if n in graph.tensors],
        symbolic_dims=symbols, assumed_dims={s: bindings[s] for s in symbols}, unsupported_ops=list(unsupported),
        inexact_nodes=sum(1 for r in rows if not r.exact),
        shape_inference=str(graph.metadata.get("shape_inference", "n/a")),
        seconds=time.perf_counter() - start, notes=notes, custom_ops=list(custom))


def _load(model: Any) -> tuple[Graph, int | None, str]:
    """(Graph, file bytes, display name) of what ``profile`` was given; the graph comes from ``load_graph``.

    A ``torch.export`` ``.pt2`` is first exported to ONNX in a temporary folder
    (``convert(..., verify_result=False)``) and profiled there.
    """
    from edgeport.core.artifact import Artifact, load_artifact

    if isinstance(model, Graph):
        return model, None, str(model.metadata.get("path", model.name))
    if hasattr(model, "graph") and hasattr(model, "opset_import"):  # onnx.ModelProto
        return load_graph(model), model.ByteSize(), model.graph.name or "model"
    if isinstance(model, Artifact):
        artifact = model
    else:
        path = Path(model)
        fmt = detect_format(path)  # ModelFileError for a missing or unknown file
        artifact = Artifact(path=path, format=fmt, inputs=(), outputs=()) if fmt in GRAPH_FORMATS \
            else load_artifact(path, format=fmt)
    if artifact.format in GRAPH_FORMATS:
        graph = load_graph(artifact)
        return graph, _file_bytes(artifact, graph), str(artifact.path)
    if artifact.format is Format.TORCH_EXPORT:
        return _graph_via_onnx(artifact), artifact.size_bytes(), str(artifact.path)
    raise UnsupportedError(f"{artifact.path}: profiling {artifact.format.value} models is not supported",
                           fix="profile the ONNX, TFLite or PyTorch .pt2 form of the model")


def _file_bytes(artifact: Artifact, graph: Graph) -> int:
    """The model file plus its side files, including external-data files the graph names."""
    size = artifact.size_bytes()
    counted = {p.resolve() for p in artifact.side_files()}
    for name in graph.metadata.get("external_data", ()):  # weights kept beside the model
        side = (artifact.path.parent / name).resolve()
        if side.is_file() and side not in counted:
            counted.add(side)
            size += side.stat().st_size
    return size


def _graph_via_onnx(artifact: Artifact) -> Graph:
    import tempfile

    from edgeport.convert.api import convert
    from edgeport.graph.onnx_reader import read_graph

    with tempfile.TemporaryDirectory(prefix="edgeport-profile-") as tmp:
        out = Path(tmp) / (artifact.path.stem + ".onnx")
        result = convert(artifact, Format.ONNX, out=out, verify_result=False)
        graph = read_graph(result.artifact.path)  # not load_graph: the file is gone after this block
    return dataclasses.replace(graph, metadata={**graph.metadata, "path": str(artifact.path),
                                                "profiled_as": "onnx (exported with torch.onnx.export)"})


def profile(model: Any, *, dims: dict[str, int] | None = None, shapes: Any = None,
            inputs: Any = None) -> ProfileResult:
    """Profile a model: a ``Graph``, an ``Artifact``, a path (ONNX, TFLite, ``.pt2``) or an ``onnx.ModelProto``.

    ``shapes`` gives input shapes (``["x=1x3x640x640"]`` or ``{"x": (1, 3, 640, 640)}``; ``inputs`` value
    sources, as everywhere — see ``edgeport.InputPlan``): the graph is re-inferred at those shapes.
    ``dims`` binds symbolic dims by name (default: each bound to 1). A dim left unknown is counted as 1
    and ``notes`` says so, naming ``--shape``. Returns a ``ProfileResult``; see the module docstring for
    exactly what ``macs``, ``flops`` and ``params`` count.
    """
    from edgeport.analysis.shaped import input_note, plan_from, shaped_graph

    start = time.perf_counter()
    graph, file_bytes, name = _load(model)
    plan = plan_from(model, shapes, inputs)
    control_flow = graph.format is Format.ONNX and any(n.op_type == "If" for n in graph.nodes)
    if (not plan.empty or control_flow) and graph.format in GRAPH_FORMATS and not isinstance(model, Graph):
        graph = shaped_graph(model, plan)
        dims = {**graph.metadata.get("dims", {}), **(dims or {})}
    result = profile_graph(graph, dims=dims, file_bytes=file_bytes, model=name)
    note = input_note(graph)
    if note and not dims:
        result.notes.insert(0, note)
    if graph.metadata.get("prepared"):
        result.notes.append("profiled after " + "; ".join(graph.metadata["prepared"]))
    if "profiled_as" in graph.metadata:
        result.notes.append(f"profiled as {graph.metadata['profiled_as']}")
    result.seconds = time.perf_counter() - start
    return result
