"""TFLite (LiteRT) flatbuffer → ``Graph``, I/O specs and an operator inventory.

The flatbuffer is read with bounds-checked access (``graph.flatbuf``): every offset, vector length
and index is checked against the file before use, so a truncated or corrupt model raises one
``ModelFileError`` (what is wrong, at which byte) and never a ``struct``/numpy error, a read from
the wrong place or a loop over a length that was never written. Constants must hold exactly the
bytes their shape declares, as TFLite's own verifier requires. Reading a model never loads an
interpreter; the schema module that ships with ``ai-edge-litert`` (TensorFlow's copy when only
TensorFlow is installed) names the builtin operators and decodes their options. Subgraph 0 is the
model's main graph; other subgraphs (bodies of WHILE/IF) are counted in ``Graph.metadata``.

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
from edgeport.graph.flatbuf import Flatbuffer, FlatbufferError, Table
from edgeport.graph.ir import Graph, Node, TensorInfo
from edgeport.graph.limits import check_dims, check_io_size

__all__ = ["OpInventory", "embed_io_metadata", "feed_names", "op_inventory", "read_constants", "read_graph",
           "read_io", "read_io_metadata"]

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


# ---- the parsed model ------------------------------------------------------------------------
# Field offsets in each table's vtable (4 + 2 * field index in the TFLite schema).
_MODEL_VERSION, _MODEL_CODES, _MODEL_SUBGRAPHS, _MODEL_DESCRIPTION, _MODEL_BUFFERS = 4, 6, 8, 10, 12
_MODEL_METADATA, _MODEL_SIGNATURES = 16, 18
_CODE_DEPRECATED, _CODE_CUSTOM, _CODE_BUILTIN = 4, 6, 10
_SUB_TENSORS, _SUB_INPUTS, _SUB_OUTPUTS, _SUB_OPERATORS = 4, 6, 8, 10
_T_SHAPE, _T_TYPE, _T_BUFFER, _T_NAME, _T_QUANT, _T_VARIABLE, _T_SPARSITY, _T_SIGNATURE = 4, 6, 8, 10, 12, 14, 16, 18
_Q_SCALE, _Q_ZERO_POINT, _Q_AXIS = 8, 10, 16
_OP_OPCODE, _OP_INPUTS, _OP_OUTPUTS, _OP_OPTIONS_TYPE, _OP_OPTIONS = 4, 6, 8, 10, 12
_BUF_DATA, _BUF_OFFSET, _BUF_SIZE = 4, 6, 8
_META_NAME, _META_BUFFER = 4, 6
_SIG_INPUTS, _SIG_OUTPUTS, _SIG_KEY, _SIG_SUBGRAPH = 4, 6, 8, 12
_MAP_NAME, _MAP_INDEX = 4, 6
_CUSTOM = 32  # BuiltinOperator.CUSTOM
#: type codes whose elements are whole bytes, so a constant's buffer must hold exactly numel × itemsize
_FIXED_SIZE = {0: 4, 1: 2, 2: 4, 3: 1, 4: 8, 6: 1, 7: 2, 8: 8, 9: 1, 10: 8, 11: 16, 12: 8, 15: 4, 16: 2, 18: 2}


@dataclass(frozen=True)
class _Tensor:
    name: str
    type_code: int
    shape: tuple[int, ...]
    signature: tuple[int, ...]
    buffer: int
    is_variable: bool
    quant: QuantParams | None


@dataclass(frozen=True)
class _Operator:
    opcode: int
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    options_type: int
    options: Table | None


@dataclass(frozen=True)
class _Signature:
    key: str
    subgraph: int
    inputs: tuple[tuple[str, int], ...]
    outputs: tuple[tuple[str, int], ...]


@dataclass(frozen=True)
class _Model:
    """What edgeport reads from a ``.tflite``: subgraph 0, operator codes, buffers, metadata, signatures;
    every offset and index checked when it was parsed (``_parse``)."""

    path: Path
    data: bytes
    version: int
    description: str
    codes: tuple[tuple[str, str], ...]  # (op_type, domain) per operator code
    subgraphs: int
    tensors: tuple[_Tensor, ...]
    names: tuple[str, ...]  # tensor names made unique
    operators: tuple[_Operator, ...]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    buffer_bytes: tuple[int, ...]  # bytes of data each buffer holds (in the flatbuffer or after it)
    buffer_data: tuple[tuple[int, int], ...]  # (start, length) of each buffer's in-flatbuffer data
    metadata: tuple[tuple[str, int], ...]  # (name, buffer index)
    signatures: tuple[_Signature, ...]


def _text(raw: bytes | str | None) -> str:
    if raw is None:
        return ""
    return raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)


def _read_bytes(path: Path) -> bytes:
    if not path.is_file():
        raise ModelFileError(f"{path}: no such file", fix="check the path")
    buf = path.read_bytes()
    if len(buf) < 8 or buf[4:8] != b"TFL3":
        raise ModelFileError(f"{path}: not a TFLite flatbuffer (no TFL3 identifier)", fix="pass a .tflite model")
    return buf


_FIX = "re-export the model (the file is truncated or was changed after export)"


def _indices(values: tuple[int, ...], count: int, what: str, *, optional: bool = False) -> tuple[int, ...]:
    """Indices, each checked to be in ``[0, count)`` (``-1`` too when ``optional``: an omitted input)."""
    low = -1 if optional else 0
    for v in values:
        if v < low or v >= count:
            raise FlatbufferError(f"{what} refers to index {v}, but there are {count}")
    return values


def _parse_quant(t: Table | None) -> QuantParams | None:
    if t is None:
        return None
    scale = t.ints(_Q_SCALE, "f")
    if not scale:
        return None
    zps = t.ints(_Q_ZERO_POINT, "q") or (0,) * len(scale)
    if len(zps) != len(scale):
        raise FlatbufferError(f"it has {len(scale)} quantisation scales but {len(zps)} zero points")
    axis = int(t.scalar(_Q_AXIS, "i")) if len(scale) > 1 else None
    return QuantParams(tuple(float(s) for s in scale), tuple(int(z) for z in zps), axis)


def _parse_tensor(t: Table, buffers: int) -> _Tensor:
    shape = t.ints(_T_SHAPE)
    signature = t.ints(_T_SIGNATURE)
    for dims, kind in ((shape, "shape"), (signature, "shape signature")):
        if dims and min(dims) < -1:
            raise FlatbufferError(f"its {kind} has dimension {min(dims)}")
    buffer = int(t.scalar(_T_BUFFER, "I"))
    if buffer >= buffers:
        raise FlatbufferError(f"it uses buffer {buffer}, but the model has {buffers}")
    return _Tensor(t.string(_T_NAME), int(t.scalar(_T_TYPE, "b")), shape, signature, buffer,
                   bool(t.scalar(_T_VARIABLE, "B")), _parse_quant(t.table(_T_QUANT)))


def _check_constant(t: _Tensor, nbytes: int, sparse: bool) -> None:
    """A constant's buffer must hold exactly what its shape and type declare (as TFLite's verifier says)."""
    itemsize = _FIXED_SIZE.get(t.type_code)
    if nbytes == 0 or itemsize is None or sparse or any(d < 0 for d in t.shape):
        return
    numel = 1
    for d in t.shape:
        numel *= d
    if numel * itemsize != nbytes:
        dims = "×".join(map(str, t.shape)) or "scalar"
        raise FlatbufferError(f"it declares shape {dims} {_TYPES[t.type_code]} ({numel * itemsize} bytes) but "
                              f"its buffer holds {nbytes} bytes")


def _parse(path: Path) -> _Model:
    """Read and check ``path``: one ``ModelFileError`` (what is wrong, at which byte) for any corruption."""
    buf = _read_bytes(path)
    fb = Flatbuffer(buf)
    where: str | tuple[Any, ...] = "the model table"  # what is being read, for the error (formatted only then)
    try:
        root = fb.root()
        where = "the buffers"
        buffers = root.tables(_MODEL_BUFFERS)
        buffer_data: list[tuple[int, int]] = []
        buffer_bytes: list[int] = []
        for i, b in enumerate(buffers):
            where = ("buffer", i)
            start, length = b.blob(_BUF_DATA)
            offset, size = int(b.scalar(_BUF_OFFSET, "Q")), int(b.scalar(_BUF_SIZE, "Q"))
            if offset > 1:  # weights stored after the flatbuffer (models over 2 GB)
                fb.need(offset, size)
            buffer_data.append((start, length))
            buffer_bytes.append(length if length else (size if offset > 1 else 0))
        where = "the operator codes"
        codes: list[tuple[str, str]] = []
        for i, c in enumerate(root.tables(_MODEL_CODES)):
            where = f"operator code {i}"
            builtin = max(int(c.scalar(_CODE_BUILTIN, "i")), int(c.scalar(_CODE_DEPRECATED, "b")))
            if builtin != _CUSTOM:
                codes.append((_op_names().get(builtin, f"BUILTIN_{builtin}"), ""))
                continue
            custom = c.string(_CODE_CUSTOM) or "CUSTOM"
            codes.append((custom, "flex" if custom.startswith("Flex") else "custom"))
        where = "the subgraphs"
        subgraphs = root.tables(_MODEL_SUBGRAPHS)
        if not subgraphs:
            raise ModelFileError(f"{path}: TFLite model has no subgraph", fix="re-convert the model")
        sub = subgraphs[0]
        where = "the tensors"
        tensor_tables = sub.tables(_SUB_TENSORS)
        tensors: list[_Tensor] = []
        for i, table in enumerate(tensor_tables):
            where = ("tensor", i)
            t = _parse_tensor(table, len(buffers))
            if t.buffer > 0:
                where = ("tensor", i, t.name)
                _check_constant(t, buffer_bytes[t.buffer], table.has(_T_SPARSITY))
            tensors.append(t)
        n = len(tensors)
        where = "the operators"
        operators = []
        for i, op in enumerate(sub.tables(_SUB_OPERATORS)):
            where = ("operator", i)
            opcode = int(op.scalar(_OP_OPCODE, "I"))
            if opcode >= len(codes):
                raise FlatbufferError(f"it uses operator code {opcode}, but the model has {len(codes)}")
            options_type = int(op.scalar(_OP_OPTIONS_TYPE, "B"))
            operators.append(_Operator(opcode, _indices(op.ints(_OP_INPUTS), n, "an input", optional=True),
                                       _indices(op.ints(_OP_OUTPUTS), n, "an output"), options_type,
                                       op.table(_OP_OPTIONS) if options_type else None))
        where = "the subgraph's inputs and outputs"
        inputs = _indices(sub.ints(_SUB_INPUTS), n, "an input")
        outputs = _indices(sub.ints(_SUB_OUTPUTS), n, "an output")
        metadata = []
        for i, md in enumerate(root.tables(_MODEL_METADATA)):
            where = f"metadata entry {i}"
            metadata.append((md.string(_META_NAME), _indices((int(md.scalar(_META_BUFFER, "I")),), len(buffers),
                                                             "its buffer")[0]))
        signatures = []
        for i, sig in enumerate(root.tables(_MODEL_SIGNATURES)):
            where = f"signature {i}"
            subgraph = _indices((int(sig.scalar(_SIG_SUBGRAPH, "I")),), len(subgraphs), "its subgraph")[0]
            maps = []
            for slot in (_SIG_INPUTS, _SIG_OUTPUTS):
                entries = []
                for m in sig.tables(slot):
                    index = int(m.scalar(_MAP_INDEX, "I"))
                    if subgraph == 0:
                        _indices((index,), n, "a tensor")
                    entries.append((m.string(_MAP_NAME), index))
                maps.append(tuple(entries))
            signatures.append(_Signature(sig.string(_SIG_KEY), subgraph, maps[0], maps[1]))
        where = "the model table"
        version, description = int(root.scalar(_MODEL_VERSION, "I")), root.string(_MODEL_DESCRIPTION)
    except FlatbufferError as exc:
        raise fb.error(str(path), _where(where), exc, _FIX) from None
    return _Model(path, buf, version, description, tuple(codes), len(subgraphs), tuple(tensors),
                  tuple(_unique_names(tuple(tensors))), tuple(operators), inputs, outputs, tuple(buffer_bytes),
                  tuple(buffer_data), tuple(metadata), tuple(signatures))


def _where(where: str | tuple[Any, ...]) -> str:
    if isinstance(where, str):
        return where
    kind, index, *name = where
    return f"{kind} {index}" + (f" ({name[0]!r})" if name and name[0] else "")


def _unique_names(tensors: tuple[_Tensor, ...]) -> list[str]:
    """Tensor names made unique (TFLite allows duplicates and empty names)."""
    names: list[str] = []
    seen: set[str] = set()
    for i, t in enumerate(tensors):
        name = t.name or f"tensor_{i}"
        if name in seen:
            name = f"{name}:{i}"
        seen.add(name)
        names.append(name)
    return names


def _shape(t: _Tensor, symbolic_batch: str = "batch") -> tuple[int | str | None, ...]:
    if t.signature and len(t.signature) == len(t.shape):
        return tuple((symbolic_batch if i == 0 else f"d{i}") if s < 0 else d
                     for i, (d, s) in enumerate(zip(t.shape, t.signature)))
    return tuple(None if d < 0 else d for d in t.shape)


def _options(model: _Model, op: _Operator, index: int) -> dict[str, Any]:
    """The operator's builtin options as a flat dict (strides, padding, fused activation...).

    The options table's header was checked by ``_parse``; its fields are decoded by the schema's
    generated classes, whose decoding failures on a corrupt table become a ``ModelFileError``.
    """
    if not op.options_type or op.options is None:
        return {}
    import struct

    import flatbuffers

    try:
        obj = _schema().BuiltinOptionsCreator(op.options_type, flatbuffers.table.Table(model.data, op.options.pos))
    except (struct.error, ValueError, IndexError, OverflowError) as exc:
        raise ModelFileError(f"{model.path}: the file is corrupt: operator {index}'s builtin options cannot be "
                             f"decoded ({type(exc).__name__})", fix=_FIX) from None
    if obj is None:  # an options type this schema does not know
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
    model = _parse(p)
    names = model.names
    tensors: dict[str, TensorInfo] = {}
    for i, t in enumerate(model.tensors):
        nbytes = model.buffer_bytes[t.buffer] if t.buffer > 0 else 0
        shape = _shape(t)
        check_dims(p, f"tensor {names[i]!r}", shape)
        tensors[names[i]] = TensorInfo(names[i], _TYPES.get(t.type_code), shape,
                                       is_constant=nbytes > 0 and not t.is_variable, nbytes=nbytes, quant=t.quant)
    nodes: list[Node] = []
    for i, op in enumerate(model.operators):
        op_type, domain = model.codes[op.opcode]
        ins = [names[j] if j >= 0 else "" for j in op.inputs]
        outs = [names[j] for j in op.outputs]
        attrs = _options(model, op, i) if domain == "" else {}
        nodes.append(Node(name=f"{op_type}_{i}", op_type=op_type, inputs=ins, outputs=outs, attrs=attrs,
                          domain=domain))
    meta: dict[str, Any] = {"subgraphs": model.subgraphs, "schema_version": model.version,
                            "description": model.description,
                            "signatures": [s.key for s in model.signatures], "path": str(p)}
    graph = Graph(name=p.stem, format=Format.TFLITE, nodes=nodes, tensors=tensors,
                  inputs=[names[j] for j in model.inputs], outputs=[names[j] for j in model.outputs], metadata=meta)
    inv = op_inventory(graph)
    meta["op_inventory"] = inv.to_dict()
    return graph


def read_constants(path: str | Path) -> dict[str, np.ndarray]:
    """Every constant tensor of the main subgraph (weights, biases, axes) as an array of its type and shape,
    keyed by the names ``read_graph`` gives; a code generator needs the values, analyses only the sizes."""
    p = Path(path)
    model = _parse(p)
    out: dict[str, np.ndarray] = {}
    for i, t in enumerate(model.tensors):
        start, length = model.buffer_data[t.buffer] if t.buffer > 0 else (0, 0)
        dtype = _TYPES.get(t.type_code)
        if not length or t.is_variable or dtype is None or t.type_code not in _FIXED_SIZE:
            continue
        out[model.names[i]] = np.frombuffer(model.data, dtype=np.dtype(dtype), count=length // _FIXED_SIZE[t.type_code],
                                            offset=start).reshape(t.shape).copy()
    return out


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

def read_io_metadata(path: str | Path) -> dict[str, Any]:
    """The JSON edgeport embedded under ``edgeport.io`` (``{}`` when absent)."""
    return _io_metadata(_parse(Path(path)))


def _io_metadata(model: _Model) -> dict[str, Any]:
    for name, index in model.metadata:
        if name == METADATA_KEY:
            start, length = model.buffer_data[index]
            if length:
                try:
                    data = json.loads(model.data[start:start + length].decode("utf-8"))
                    return data if isinstance(data, dict) else {}
                except ValueError:
                    return {}
    return {}


def _signature_io(model: _Model, key: str | None = None) -> tuple[str | None, tuple[tuple[str, int], ...],
                                                                  tuple[tuple[str, int], ...]]:
    """(signature key, ((input name, tensor index)...), ((output name, tensor index)...)) of subgraph 0."""
    keys = [s.key for s in model.signatures]
    for sig in model.signatures:
        if sig.subgraph != 0 or (key is not None and sig.key != key):
            continue
        if key is None and "serving_default" in keys and sig.key != "serving_default":
            continue
        return sig.key, sig.inputs, sig.outputs
    names = model.names
    return None, tuple((names[j], j) for j in model.inputs), tuple((names[j], j) for j in model.outputs)


def _tensor_spec(path: Path, t: _Tensor, name: str, layout: str | None) -> TensorSpec:
    dtype = _TYPES.get(t.type_code)
    if dtype is None:
        raise ModelFileError(f"{path}: model input/output {name!r} has tensor type code {t.type_code}, which no "
                             "TFLite schema this edgeport knows defines",
                             fix="re-export the model; if it is new, update ai-edge-litert and edgeport")
    spec = TensorSpec(name, dtype, _shape(t), layout, t.quant)
    check_io_size(path, spec)
    return spec


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    """I/O specs named as the runtime feeds them: the default signature's names, else tensor names."""
    p = Path(path)
    model = _parse(p)
    key, ins, outs = _signature_io(model)
    meta = _io_metadata(model)
    layouts: dict[str, str] = meta.get("layouts", {}) if isinstance(meta.get("layouts"), dict) else {}
    inputs = tuple(_tensor_spec(p, model.tensors[i], n, layouts.get(n)) for n, i in ins)
    outputs = tuple(_tensor_spec(p, model.tensors[i], n, layouts.get(n)) for n, i in outs)
    flex = sorted({t for t, d in model.codes if d == "flex"})
    custom = sorted({t for t, d in model.codes if d == "custom"})
    info: dict[str, Any] = {"signature": key, "signatures": [s.key for s in model.signatures], "flex_ops": flex,
                            "custom_ops": custom}
    if flex:
        info["notes"] = [f"{p.name} {FLEX_NOTE}"]
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
    parsed = _parse(p)
    if any(length == 0 and nbytes for (_, length), nbytes in zip(parsed.buffer_data, parsed.buffer_bytes)):
        return  # weights stored outside the flatbuffer (>2 GB models): leave the file untouched
    buf = parsed.data
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


def feed_names(path: str | Path) -> dict[str, str]:
    """Input/output tensor name → the name the model is fed and read by (its default signature's)."""
    model = _parse(Path(path))
    _, ins, outs = _signature_io(model)
    return {model.names[i]: name for name, i in (*ins, *outs)}
