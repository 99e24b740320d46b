"""TFLite (LiteRT) flatbuffer → ``Graph``, I/O specs and an operator inventory.

The flatbuffer is parsed with the schema module that ships with ``ai-edge-litert``
(``ai_edge_litert.schema_py_generated``; TensorFlow's copy is used when only TensorFlow is
installed), so reading a model never loads an interpreter. Subgraph 0 is the model's main
graph; other subgraphs (bodies of WHILE/IF) are counted in ``Graph.metadata``.

Operators keep their TFLite names (``CONV_2D``, ``DEPTHWISE_CONV_2D``...). Custom operators use
their custom code as ``op_type`` with ``domain="custom"``; TensorFlow ops kept through Select TF
ops ("Flex", custom codes ``FlexXxx``) get ``domain="flex"``: most devices cannot run them.

edgeport writes a small JSON entry into the model's metadata (``edgeport.io``) with the input
and output layouts, so a ``.tflite`` loaded later still knows that its input is NHWC.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

from edgeport.core.formats import Format
from edgeport.core.tensors import QuantParams, TensorSpec
from edgeport.errors import MissingDependencyError, ModelFileError
from edgeport.graph.ir import Graph, Node, TensorInfo

__all__ = ["OpInventory", "embed_io_metadata", "op_inventory", "read_graph", "read_io", "read_io_metadata"]

METADATA_KEY = "edgeport.io"
_TYPES = {0: "float32", 1: "float16", 2: "int32", 3: "uint8", 4: "int64", 5: "string", 6: "bool", 7: "int16",
          8: "complex64", 9: "int8", 10: "float64", 11: "complex128", 12: "uint64", 13: "resource",
          14: "variant", 15: "uint32", 16: "uint16", 17: "int4", 18: "bfloat16", 19: "int2"}
_ACTIVATIONS = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6", 4: "TANH", 5: "SIGN_BIT", 6: "SIGMOID"}
FLEX_NOTE = ("uses TensorFlow Select ops (Flex): most devices and the plain LiteRT runtime cannot run them; "
             "re-convert without SELECT_TF_OPS or replace the ops")


@lru_cache(maxsize=1)
def _schema() -> ModuleType:
    import importlib

    for name in ("ai_edge_litert.schema_py_generated", "tensorflow.lite.python.schema_py_generated"):
        try:
            return importlib.import_module(name)
        except ImportError:
            continue
    raise MissingDependencyError("reading .tflite models", "ai_edge_litert", "tflite")


@lru_cache(maxsize=1)
def _op_names() -> dict[int, str]:
    ops = _schema().BuiltinOperator
    return {v: k for k, v in vars(ops).items() if k.isupper() and isinstance(v, int)}


def _load(path: Path) -> tuple[bytes, Any]:
    p = Path(path)
    if not p.is_file():
        raise ModelFileError(f"{p}: no such file", fix="check the path")
    buf = p.read_bytes()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelFileError(f"{p}: not a TFLite flatbuffer (no TFL3 identifier)", fix="pass a .tflite model")
    try:
        model = _schema().Model.GetRootAs(buf, 0)
        if model.SubgraphsLength() < 1:
            raise ModelFileError(f"{p}: TFLite model has no subgraph", fix="re-convert the model")
        model.Subgraphs(0).TensorsLength()
    except ModelFileError:
        raise
    except Exception as exc:  # flatbuffers raises struct/index errors on a truncated buffer
        raise ModelFileError(f"{p}: truncated or corrupt TFLite file ({type(exc).__name__})",
                             fix="re-convert the model") from exc
    return buf, model


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _op_code(model: Any, index: int) -> tuple[str, str]:
    """(op_type, domain) for operator code ``index``: domain "" builtin, "custom" or "flex"."""
    code = model.OperatorCodes(index)
    builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
    name = _op_names().get(builtin, f"BUILTIN_{builtin}")
    if name != "CUSTOM":
        return name, ""
    custom = _text(code.CustomCode()) or "CUSTOM"
    return custom, "flex" if custom.startswith("Flex") else "custom"


def _quant(tensor: Any) -> QuantParams | None:
    q = tensor.Quantization()
    if q is None or q.ScaleLength() == 0:
        return None
    scale = tuple(float(s) for s in q.ScaleAsNumpy())
    zps = tuple(int(z) for z in q.ZeroPointAsNumpy()) if q.ZeroPointLength() else (0,) * len(scale)
    axis = int(q.QuantizedDimension()) if len(scale) > 1 else None
    return QuantParams(scale, zps, axis)


def _shape(tensor: Any, symbolic_batch: str = "batch") -> tuple[int | str | None, ...]:
    shape = [int(d) for d in tensor.ShapeAsNumpy()] if tensor.ShapeLength() else []
    if tensor.ShapeSignatureLength():
        sig = [int(d) for d in tensor.ShapeSignatureAsNumpy()]
        if len(sig) == len(shape):
            return tuple((symbolic_batch if i == 0 else f"d{i}") if s < 0 else d
                         for i, (d, s) in enumerate(zip(shape, sig)))
    return tuple(shape)


def _buffer_bytes(model: Any, index: int) -> int:
    if index <= 0 or index >= model.BuffersLength():
        return 0
    buf = model.Buffers(index)
    if buf.DataLength():
        return int(buf.DataLength())
    return int(buf.Size()) if buf.Offset() > 1 else 0


def _tensor_names(sub: Any) -> list[str]:
    """Tensor names made unique (TFLite allows duplicates and empty names)."""
    names: list[str] = []
    seen: set[str] = set()
    for i in range(sub.TensorsLength()):
        name = _text(sub.Tensors(i).Name()) or f"tensor_{i}"
        if name in seen:
            name = f"{name}:{i}"
        seen.add(name)
        names.append(name)
    return names


def _options(op: Any) -> dict[str, Any]:
    """The operator's builtin options as a flat dict (strides, padding, fused activation...)."""
    schema = _schema()
    kind = op.BuiltinOptionsType()
    table = op.BuiltinOptions()
    if not kind or table is None:
        return {}
    try:
        obj = schema.BuiltinOptionsCreator(kind, table)
    except Exception:  # an options type this schema does not know
        return {}
    if obj is None:
        return {}
    out: dict[str, Any] = {}
    for key, value in vars(obj).items():
        if not isinstance(value, (int, float, bool, str, list, np.ndarray)):
            continue
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()  # strideW -> stride_w, as in the schema
        out[snake] = value.tolist() if isinstance(value, np.ndarray) else value
    if "padding" in out:
        out["padding"] = {0: "SAME", 1: "VALID"}.get(out["padding"], out["padding"])
    if "fused_activation_function" in out:
        out["fused_activation_function"] = _ACTIVATIONS.get(out["fused_activation_function"],
                                                            out["fused_activation_function"])
    return out


def read_graph(path: str | Path) -> Graph:
    """The main subgraph of a ``.tflite`` model as a ``Graph`` (shapes, dtypes, quant, buffer sizes)."""
    p = Path(path)
    _, model = _load(p)
    sub = model.Subgraphs(0)
    names = _tensor_names(sub)
    tensors: dict[str, TensorInfo] = {}
    for i in range(sub.TensorsLength()):
        t = sub.Tensors(i)
        nbytes = _buffer_bytes(model, int(t.Buffer()))
        tensors[names[i]] = TensorInfo(names[i], _TYPES.get(int(t.Type()), None), _shape(t),
                                       is_constant=nbytes > 0 and not t.IsVariable(), nbytes=nbytes, quant=_quant(t))
    codes = [_op_code(model, i) for i in range(model.OperatorCodesLength())]
    nodes: list[Node] = []
    for i in range(sub.OperatorsLength()):
        op = sub.Operators(i)
        op_type, domain = codes[op.OpcodeIndex()]
        ins = [names[j] if j >= 0 else "" for j in (op.InputsAsNumpy() if op.InputsLength() else [])]
        outs = [names[j] for j in (op.OutputsAsNumpy() if op.OutputsLength() else [])]
        attrs = _options(op) if domain == "" else {}
        nodes.append(Node(name=f"{op_type}_{i}", op_type=op_type, inputs=ins, outputs=outs, attrs=attrs,
                          domain=domain))
    inputs = [names[j] for j in sub.InputsAsNumpy()] if sub.InputsLength() else []
    outputs = [names[j] for j in sub.OutputsAsNumpy()] if sub.OutputsLength() else []
    meta: dict[str, Any] = {"subgraphs": int(model.SubgraphsLength()), "schema_version": int(model.Version()),
                            "description": _text(model.Description()),
                            "signatures": _signature_keys(model), "path": str(p)}
    graph = Graph(name=p.stem, format=Format.TFLITE, nodes=nodes, tensors=tensors, inputs=inputs, outputs=outputs,
                  metadata=meta)
    inv = op_inventory(graph)
    meta["op_inventory"] = inv.to_dict()
    return graph


# ---- operator inventory ----------------------------------------------------------------------

@dataclass
class OpInventory:
    """Which operators a TFLite model uses: builtin, Flex (Select TF ops) and custom, with counts."""

    builtin: dict[str, int] = field(default_factory=dict)
    flex: dict[str, int] = field(default_factory=dict)
    custom: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def deployable(self) -> bool:
        """True when every op is a builtin (custom ops need their kernels registered by the app)."""
        return not self.flex and not self.custom

    def to_dict(self) -> dict[str, Any]:
        return {"builtin": dict(self.builtin), "flex": dict(self.flex), "custom": dict(self.custom),
                "notes": list(self.notes)}


def op_inventory(graph: Graph) -> OpInventory:
    inv = OpInventory()
    for node in graph.nodes:
        bucket = {"flex": inv.flex, "custom": inv.custom}.get(node.domain, inv.builtin)
        bucket[node.op_type] = bucket.get(node.op_type, 0) + 1
    if inv.flex:
        inv.notes.append(f"{graph.name}: {sum(inv.flex.values())} op(s) {sorted(inv.flex)} " + FLEX_NOTE)
    if inv.custom:
        inv.notes.append(f"{graph.name}: custom op(s) {sorted(inv.custom)} need their kernels registered "
                         "with the interpreter on the device")
    return inv


# ---- I/O specs --------------------------------------------------------------------------------

def _signature_keys(model: Any) -> list[str]:
    return [_text(model.SignatureDefs(i).SignatureKey()) for i in range(model.SignatureDefsLength())]


def read_io_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON edgeport embedded under ``edgeport.io`` (``{}`` when absent)."""
    _, model = _load(Path(path))
    return _io_metadata(model)


def _io_metadata(model: Any) -> dict[str, Any]:
    for i in range(model.MetadataLength()):
        md = model.Metadata(i)
        if _text(md.Name()) == METADATA_KEY:
            buf = model.Buffers(int(md.Buffer()))
            if buf.DataLength():
                try:
                    data = json.loads(bytes(buf.DataAsNumpy()).decode("utf-8"))
                    return data if isinstance(data, dict) else {}
                except ValueError:
                    return {}
    return {}


def tensor_spec(tensor: Any, name: str, layout: str | None = None) -> TensorSpec:
    return TensorSpec(name, _TYPES.get(int(tensor.Type()), "float32"), _shape(tensor), layout, _quant(tensor))


def signature_io(model: Any, key: str | None = None) -> tuple[str | None, list[tuple[str, int]], list[tuple[str, int]]]:
    """(signature key, [(input name, tensor index)], [(output name, tensor index)]) of subgraph 0."""
    keys = _signature_keys(model)
    for i in range(model.SignatureDefsLength()):
        sig = model.SignatureDefs(i)
        if int(sig.SubgraphIndex()) != 0 or (key is not None and keys[i] != key):
            continue
        if key is None and "serving_default" in keys and keys[i] != "serving_default":
            continue
        ins = [(_text(sig.Inputs(j).Name()), int(sig.Inputs(j).TensorIndex())) for j in range(sig.InputsLength())]
        outs = [(_text(sig.Outputs(j).Name()), int(sig.Outputs(j).TensorIndex())) for j in range(sig.OutputsLength())]
        return keys[i], ins, outs
    sub = model.Subgraphs(0)
    names = _tensor_names(sub)
    return None, [(names[j], int(j)) for j in sub.InputsAsNumpy()], [(names[j], int(j)) for j in sub.OutputsAsNumpy()]


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    """I/O specs named as the runtime feeds them: the default signature's names, else tensor names."""
    _, model = _load(Path(path))
    key, ins, outs = signature_io(model)
    sub = model.Subgraphs(0)
    meta = _io_metadata(model)
    layouts: dict[str, str] = meta.get("layouts", {}) if isinstance(meta.get("layouts"), dict) else {}
    inputs = tuple(tensor_spec(sub.Tensors(i), n, layouts.get(n)) for n, i in ins)
    outputs = tuple(tensor_spec(sub.Tensors(i), n, layouts.get(n)) for n, i in outs)
    codes = [_op_code(model, i) for i in range(model.OperatorCodesLength())]
    flex = sorted({t for t, d in codes if d == "flex"})
    custom = sorted({t for t, d in codes if d == "custom"})
    info: dict[str, Any] = {"signature": key, "signatures": _signature_keys(model), "flex_ops": flex,
                            "custom_ops": custom}
    if flex:
        info["notes"] = [f"{Path(path).name} {FLEX_NOTE}"]
    for k in ("layout_map", "source"):
        if k in meta:
            info[k] = meta[k]
    return inputs, outputs, info


def embed_io_metadata(path: str | Path, data: dict[str, Any], *, rename_inputs: dict[str, str] | None = None,
                      rename_outputs: dict[str, str] | None = None) -> None:
    """Write ``data`` (JSON) into the model's metadata under ``edgeport.io``, atomically, replacing any.

    ``rename_inputs``/``rename_outputs`` rename signature inputs/outputs (the names the runtime feeds
    and returns), e.g. litert-torch's ``args_0`` back to the source model's ``input``.
    """
    import flatbuffers

    p = Path(path)
    buf, model_ro = _load(p)
    for i in range(model_ro.BuffersLength()):
        if model_ro.Buffers(i).Offset() > 1:
            return  # weights stored outside the flatbuffer (>2 GB models): leave the file untouched
    schema = _schema()
    model = schema.ModelT.InitFromPackedBuf(buf, 0)
    blob = schema.BufferT()
    blob.data = np.frombuffer(json.dumps(data, sort_keys=True).encode("utf-8"), dtype=np.uint8).copy()
    model.buffers = list(model.buffers or [])
    kept = [m for m in (model.metadata or []) if _text(m.name) != METADATA_KEY]
    model.buffers.append(blob)
    entry = schema.MetadataT()
    entry.name = METADATA_KEY
    entry.buffer = len(model.buffers) - 1
    model.metadata = [*kept, entry]
    for sig in model.signatureDefs or []:
        for maps, names in ((sig.inputs, rename_inputs), (sig.outputs, rename_outputs)):
            for tmap in maps or []:
                if names and _text(tmap.name) in names:
                    tmap.name = names[_text(tmap.name)]
    if not model.signatureDefs and model.subgraphs:  # no signature (onnx2tf on some graphs): I/O tensors are the names
        graph = model.subgraphs[0]
        for indices, names in ((graph.inputs, rename_inputs), (graph.outputs, rename_outputs)):
            for idx in indices if indices is not None else []:
                tensor = graph.tensors[int(idx)]
                if names and _text(tensor.name) in names:
                    tensor.name = names[_text(tensor.name)]
    builder = flatbuffers.Builder(len(buf) + 4096)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    tmp = p.with_name(p.name + ".tmp")
    tmp.write_bytes(bytes(builder.Output()))
    tmp.replace(p)
