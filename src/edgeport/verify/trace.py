"""Capture every intermediate tensor of a model on real inputs, without touching the artifact.

``capture`` returns a ``Trace``: the float values each node produced, in graph order, with the
node's name, op type and inputs. The artifact under test is never modified:

- ONNX: a **copy** in a temporary directory gets every intermediate added as a graph output and
  runs with graph optimisation disabled (so each node's value exists).
- TFLite: a separate interpreter with ``experimental_preserve_all_tensors=True``; int8 tensors
  are dequantised with their scale/zero-point.
- PyTorch ``.pt2``: ``torch.fx.Interpreter`` over ``ExportedProgram.module()`` records each call.
- OpenVINO IR: the model is read into memory, every op output is added as a model output and it
  is compiled separately (f32 inference precision); the IR files are not touched.

Other formats expose no intermediates here; ``capture`` raises ``UnsupportedError`` saying so.
QDQ-quantised ONNX: a tensor consumed only by QuantizeLinear→DequantizeLinear is recorded with
the dequantised value (what the next layer actually sees).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.data.datasets import Dataset
from edgeport.errors import UnsupportedError

__all__ = ["TRACEABLE_FORMATS", "Trace", "TraceEntry", "capture"]

TRACEABLE_FORMATS = (Format.ONNX, Format.TFLITE, Format.TORCH_EXPORT, Format.OPENVINO)


@dataclass
class TraceEntry:
    name: str  # tensor name
    node: str  # producing node name
    op_type: str
    inputs: list[str]  # tensor names feeding the node
    value: np.ndarray = field(repr=False)
    note: str = ""


@dataclass
class Trace:
    format: Format
    entries: list[TraceEntry]
    samples: int
    notes: list[str] = field(default_factory=list)


def capture(artifact: Artifact, data: Dataset, *, max_samples: int = 64) -> Trace:
    """Intermediate values of ``artifact`` on ``data`` (already in the artifact's input layout)."""
    subset = data.head(max_samples)
    if artifact.format is Format.ONNX:
        trace = _capture_onnx(artifact, subset)
    elif artifact.format is Format.TORCH_EXPORT:
        trace = _capture_torch(artifact, subset)
    elif artifact.format is Format.TFLITE:
        trace = _capture_tflite(artifact, subset)
    elif artifact.format is Format.OPENVINO:
        trace = _capture_openvino(artifact, subset)
    else:
        raise UnsupportedError(f"{artifact.format.value} models expose no intermediate tensors to edgeport",
                               fix="localise on an ONNX, TFLite, OpenVINO or .pt2 form of the model")
    if artifact.format is not Format.TFLITE:  # TFLite traces its inputs under their tensor names
        trace.entries[:0] = _input_entries(artifact, subset)
    return trace


def _input_entries(artifact: Artifact, data: Dataset) -> list[TraceEntry]:
    """The model inputs as the first trace entries: a wrong input alignment shows up as divergence here."""
    if not artifact.inputs:
        return []
    try:
        mapping = data.bind(artifact.inputs)
    except Exception:  # noqa: BLE001 - inputs that cannot be bound are simply not traced
        return []
    entries = []
    for spec in artifact.inputs:
        value = np.asarray(data.inputs[mapping[spec.name]])
        if _is_batch_float(value, data.count):
            entries.append(TraceEntry(spec.name, "(input)", "Input", [], value))
    return entries


def _is_batch_float(value: object, n: int) -> bool:
    arr = np.asarray(value)
    return arr.dtype.kind == "f" and arr.ndim >= 1 and arr.shape[0] == n


# ---- ONNX -------------------------------------------------------------------------------------
def _capture_onnx(artifact: Artifact, data: Dataset) -> Trace:
    from edgeport._optional import require

    onnx = require("onnx", "onnx", "localising divergence in ONNX models")
    from edgeport.graph.onnx_reader import load_onnx
    from edgeport.runtimes.base import open_runtime, run_dataset
    from edgeport.runtimes.onnxruntime import OnnxRuntimeOptions

    model = load_onnx(artifact.path)
    existing = {o.name for o in model.graph.output}
    inits = {i.name for i in model.graph.initializer}
    for node in model.graph.node:
        for out in node.output:
            if out and out not in existing and out not in inits:
                model.graph.output.append(onnx.ValueInfoProto(name=out))
                existing.add(out)
    with tempfile.TemporaryDirectory(prefix="edgeport-trace-") as tmp:
        path = Path(tmp) / "instrumented.onnx"
        big = model.ByteSize() > 1_900_000_000
        onnx.save_model(model, str(path), save_as_external_data=big)
        copy = replace(artifact, path=path, metadata={})
        opts = OnnxRuntimeOptions(graph_optimization="disable")
        with open_runtime(copy, "onnxruntime", opts) as rt:
            values = run_dataset(rt, data)
    n = data.count
    consumers: dict[str, list[object]] = {}
    for node in model.graph.node:
        for i in node.input:
            consumers.setdefault(i, []).append(node)
    entries: list[TraceEntry] = []
    absorbed: set[str] = set()
    for node in model.graph.node:
        for out in node.output:
            if not out or out in absorbed or out not in values or not _is_batch_float(values[out], n):
                continue
            value, note = values[out], ""
            dq = _qdq_follower(out, consumers)
            if dq is not None and dq[1] in values:
                value, note = values[dq[1]], f"value after {dq[0]}→DequantizeLinear (what the next layer sees)"
                absorbed.add(dq[1])
            entries.append(TraceEntry(out, node.name or out, node.op_type, [i for i in node.input if i],
                                      np.asarray(value), note))
    # DequantizeLinear outputs stand for the tensor that was quantised: rename inputs accordingly
    alias = {}
    for node in model.graph.node:
        if node.op_type == "QuantizeLinear":
            for c in consumers.get(node.output[0], []):
                if c.op_type == "DequantizeLinear":  # type: ignore[attr-defined]
                    alias[c.output[0]] = node.input[0]  # type: ignore[attr-defined]
    for e in entries:
        e.inputs = [alias.get(i, i) for i in e.inputs]
    return Trace(Format.ONNX, [e for e in entries if e.op_type not in ("QuantizeLinear", "DequantizeLinear")],
                 n, ["ONNX: intermediates read from an instrumented copy (graph optimisation off)"])


def _qdq_follower(tensor: str, consumers: dict[str, list[object]]) -> tuple[str, str] | None:
    """(Q node name, DQ output) when ``tensor`` is consumed only by QuantizeLinear→DequantizeLinear."""
    users = consumers.get(tensor, [])
    if not users or any(u.op_type != "QuantizeLinear" for u in users):  # type: ignore[attr-defined]
        return None
    q = users[0]
    dqs = [c for c in consumers.get(q.output[0], []) if c.op_type == "DequantizeLinear"]  # type: ignore[attr-defined]
    if not dqs:
        return None
    return q.name or "QuantizeLinear", dqs[0].output[0]  # type: ignore[attr-defined]


# ---- PyTorch (.pt2) ---------------------------------------------------------------------------
def _capture_torch(artifact: Artifact, data: Dataset) -> Trace:
    from edgeport._optional import require

    torch = require("torch", "torch", "localising divergence in PyTorch models")
    from edgeport.runtimes.torch import load_exported_program

    program = load_exported_program(artifact.path)
    module = program.module()
    placeholders = [n for n in module.graph.nodes if n.op == "placeholder"]
    specs = artifact.inputs
    mapping = data.bind(specs) if specs else {placeholders[0].target: next(iter(data.inputs))}
    recorded: dict[str, list[np.ndarray]] = {}
    meta: dict[str, tuple[str, list[str]]] = {}

    class _Recorder(torch.fx.Interpreter):  # type: ignore[misc,name-defined]
        def run_node(self, node):  # type: ignore[no-untyped-def]
            result = super().run_node(node)
            if node.op == "call_function" and isinstance(result, torch.Tensor):
                recorded.setdefault(node.name, []).append(result.detach().cpu().numpy())
                target = getattr(node.target, "__name__", str(node.target))
                op = str(target).split(".")[1] if str(target).startswith("aten.") else str(target).split(".")[0]
                meta[node.name] = (op, [a.name for a in node.all_input_nodes])
            return result

    names = [s.name for s in specs] or list(mapping)
    with torch.no_grad():
        for start in range(0, data.count, 64):
            args = [torch.from_numpy(np.ascontiguousarray(data.inputs[mapping[nm]][start:start + 64]))
                    for nm in names]
            _Recorder(module).run(*args)
    n = data.count
    entries = []
    for name, chunks in recorded.items():
        value = np.concatenate(chunks) if all(c.ndim for c in chunks) else chunks[0]
        if _is_batch_float(value, n):
            op, ins = meta[name]
            entries.append(TraceEntry(name, name, op, ins, value))
    return Trace(Format.TORCH_EXPORT, entries, n, ["PyTorch: intermediates recorded with torch.fx.Interpreter"])


# ---- TFLite -----------------------------------------------------------------------------------
def _tflite_interpreter(path: Path) -> object:
    from edgeport._optional import is_available, require

    import warnings

    if is_available("ai_edge_litert"):
        from ai_edge_litert import interpreter as lite
    else:
        lite = require("tensorflow", "tflite", "localising divergence in TFLite models").lite
    # built-in kernels only (no XNNPACK delegate): every op writes its own output tensor
    types = lite.OpResolverType if hasattr(lite, "OpResolverType") else lite.experimental.OpResolverType
    resolver = types.BUILTIN_WITHOUT_DEFAULT_DELEGATES
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # "preserve_all_tensors is for debugging" notice
        return lite.Interpreter(model_path=str(path), experimental_preserve_all_tensors=True, num_threads=1,
                                experimental_op_resolver_type=resolver)


def _capture_tflite(artifact: Artifact, data: Dataset) -> Trace:
    interp = _tflite_interpreter(artifact.path)  # a separate interpreter: the artifact's own runtime is untouched
    interp.allocate_tensors()  # type: ignore[attr-defined]
    in_details = interp.get_input_details()  # type: ignore[attr-defined]
    tensors = {t["index"]: t for t in interp.get_tensor_details()}  # type: ignore[attr-defined]
    ops = interp._get_ops_details()  # type: ignore[attr-defined]
    keys = list(data.inputs)
    if len(in_details) == 1:
        mapping = {in_details[0]["index"]: keys[0]}
    else:
        by_name = {d["name"]: d["index"] for d in in_details}
        mapping = {idx: name for name, idx in by_name.items() if name in data.inputs}
        if len(mapping) != len(in_details):
            mapping = {d["index"]: keys[i] for i, d in enumerate(in_details)}
    batch = int(in_details[0]["shape"][0]) if len(in_details[0]["shape"]) else 1
    batch = batch if batch > 0 else 1
    collected: dict[int, list[np.ndarray]] = {}
    for start in range(0, data.count, batch):
        for d in in_details:
            x = data.inputs[mapping[d["index"]]][start:start + batch]
            if len(x) < batch:
                x = np.concatenate([x, np.repeat(x[-1:], batch - len(x), axis=0)])
            interp.set_tensor(d["index"], _quantize_for(d, x))  # type: ignore[attr-defined]
        interp.invoke()  # type: ignore[attr-defined]
        for op in ops:
            if op["op_name"] == "DELEGATE":
                continue
            for idx in op["outputs"]:
                if idx < 0:
                    continue
                value = interp.get_tensor(idx)  # type: ignore[attr-defined]
                collected.setdefault(idx, []).append(_dequantize(tensors[idx], value)[: data.count - start])
    n = data.count
    entries = [TraceEntry(d["name"], "(input)", "Input", [], data.inputs[mapping[d["index"]]]) for d in in_details
               if np.asarray(data.inputs[mapping[d["index"]]]).dtype.kind == "f"]
    for op in ops:
        if op["op_name"] == "DELEGATE":
            continue
        for idx in op["outputs"]:
            if idx < 0 or idx not in collected:
                continue
            value = np.concatenate(collected[idx])
            if _is_batch_float(value, n):
                name = tensors[idx]["name"] or f"tensor_{idx}"
                entries.append(TraceEntry(name, f"{op['op_name']}_{op['index']}", op["op_name"],
                                          [tensors[i]["name"] for i in op["inputs"] if i >= 0 and i in tensors],
                                          value))
    return Trace(Format.TFLITE, entries, n,
                 ["TFLite: intermediates read from a separate interpreter with experimental_preserve_all_tensors"])


def _quantize_for(detail: dict, x: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    dtype = np.dtype(detail["dtype"])
    scale, zp = detail.get("quantization", (0.0, 0))
    if dtype.kind in "iu" and x.dtype.kind == "f" and scale:
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zp), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def _dequantize(detail: dict, value: np.ndarray) -> np.ndarray:  # type: ignore[type-arg]
    value = np.array(value)
    if value.dtype.kind not in "iu":
        return value
    qp = detail.get("quantization_parameters") or {}
    scales = np.asarray(qp.get("scales", []), dtype=np.float32)
    zps = np.asarray(qp.get("zero_points", []), dtype=np.float32)
    if scales.size == 0:
        return value  # plain integer tensor (indices, shapes): skipped by the float filter
    if scales.size > 1:
        shape = [1] * value.ndim
        shape[int(qp.get("quantized_dimension", 0))] = -1
        scales, zps = scales.reshape(shape), zps.reshape(shape)
    return (value.astype(np.float32) - zps) * scales


# ---- OpenVINO ---------------------------------------------------------------------------------
def _capture_openvino(artifact: Artifact, data: Dataset) -> Trace:
    from edgeport._optional import require

    ov = require("openvino", "openvino", "localising divergence in OpenVINO models")
    core = ov.Core()
    model = core.read_model(str(artifact.path))  # in memory: the IR on disk is never written

    def tensor_name(out: object) -> str:
        names = sorted(out.get_names())  # type: ignore[attr-defined]
        node = out.get_node()  # type: ignore[attr-defined]
        return names[0] if names else f"{node.get_friendly_name()}:{out.get_index()}"  # type: ignore[attr-defined]

    info: dict[tuple[str, int], tuple[str, str, str, list[str]]] = {}
    extra = []
    for op in model.get_ordered_ops():
        kind = op.get_type_name()
        if kind in ("Parameter", "Result", "Constant"):
            continue
        inputs = [tensor_name(i.get_source_output()) for i in op.inputs()]
        for out in op.outputs():
            info[(op.get_friendly_name(), out.get_index())] = (tensor_name(out), op.get_friendly_name(), kind, inputs)
            extra.append(out)
    model.add_outputs(extra)
    compiled = core.compile_model(model, "CPU", {"INFERENCE_PRECISION_HINT": "f32"})
    keys = []
    for mo in model.outputs:
        src = mo.get_node().input(0).get_source_output()
        keys.append((src.get_node().get_friendly_name(), src.get_index()))
    params = model.get_parameters()
    names = [p.get_friendly_name() for p in params]
    mapping = data.bind(artifact.inputs) if artifact.inputs else {names[0]: next(iter(data.inputs))}
    request = compiled.create_infer_request()
    collected: dict[tuple[str, int], list[np.ndarray]] = {}
    for start in range(0, data.count, 16):
        feeds = {}
        for i, p in enumerate(params):
            key = mapping.get(p.get_friendly_name()) or mapping.get(tensor_name(p.output(0))) \
                or list(mapping.values())[i]
            feeds[i] = np.ascontiguousarray(data.inputs[key][start:start + 16])
        result = request.infer(feeds)
        for i, key in enumerate(keys):
            if key in info:
                collected.setdefault(key, []).append(np.array(result[compiled.outputs[i]]))
    n = data.count
    entries = []
    for key, (name, node, kind, inputs) in info.items():
        if key in collected:
            value = np.concatenate(collected[key])
            if _is_batch_float(value, n):
                entries.append(TraceEntry(name, node, kind, inputs, value))
    return Trace(Format.OPENVINO, entries, n,
                 ["OpenVINO: every op output added to an in-memory copy compiled separately (f32)"])
