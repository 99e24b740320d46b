"""ONNX → ``Graph`` (with shape inference, symbolic dims kept) and ONNX I/O specs.

``read_graph`` is fast on big models: weights are never decoded, and shape inference runs on
a weight-free skeleton of the model (large constants replaced by typed inputs).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeport._optional import require
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.errors import ModelFileError, one_line
from edgeport.graph.ir import Graph, Node, TensorInfo
from edgeport.graph.limits import check_dims, check_io_size

__all__ = ["load_onnx", "read_graph", "read_io"]


def load_onnx(path: Path, *, load_external_data: bool = True) -> Any:
    """``onnx.ModelProto`` or ``ModelFileError`` for a truncated/corrupt file (one that does not parse,
    holds no graph, or has names or op types that are not text)."""
    onnx = require("onnx", "onnx", "reading ONNX models")
    if not Path(path).exists():
        raise ModelFileError(f"{path}: no such file", fix="check the path")
    try:
        model = onnx.load_model(str(path), load_external_data=load_external_data)
    except Exception as exc:  # DecodeError and friends
        raise ModelFileError(f"{path}: truncated or corrupt ONNX file ({type(exc).__name__}: {one_line(exc, 150)})",
                             fix="re-export the model") from exc
    if not model.graph.node and not model.graph.output:
        raise ModelFileError(f"{path}: ONNX file holds no graph", fix="re-export the model")
    bad = _non_text(model)
    if bad is not None:
        raise ModelFileError(f"{path}: corrupt ONNX file: {bad} is not valid UTF-8 text", fix="re-export the model")
    return model


def _non_text(model: Any) -> str | None:
    """Where the model holds a name that is not text (``None`` when all are).

    protobuf hands back ``bytes`` for a proto2 string field that is not valid UTF-8 (a corrupt file
    that still parses); every reader downstream expects ``str``.
    """
    g = model.graph
    for i, n in enumerate(g.node):
        for field_name in ("op_type", "domain", "name"):
            if not isinstance(getattr(n, field_name), str):
                return f"node {i}'s {field_name}"
        if not all(isinstance(x, str) for x in (*n.input, *n.output)):
            return f"an input or output name of node {i}"
        if not all(isinstance(a.name, str) for a in n.attribute):
            return f"an attribute name of node {i}"
    for kind, values in (("input", g.input), ("output", g.output), ("value_info", g.value_info)):
        for v in values:
            if not isinstance(v.name, str):
                return f"a graph {kind} name"
            if v.type.HasField("tensor_type") and not all(isinstance(d.dim_param, str)
                                                          for d in v.type.tensor_type.shape.dim):
                return f"a symbolic dimension of {v.name!r}"
    if not all(isinstance(t.name, str) for t in g.initializer):
        return "an initializer name"
    if not all(isinstance(o.domain, str) for o in model.opset_import):
        return "an opset domain"
    return None


def _dim(d: Any) -> int | str | None:
    if d.HasField("dim_value"):
        return int(d.dim_value) if d.dim_value >= 0 else None  # some exporters write -1 for "unknown"
    if d.HasField("dim_param"):
        return str(d.dim_param)
    return None


def value_info_spec(vi: Any) -> TensorSpec:
    from onnx import helper

    tt = vi.type.tensor_type
    dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type).name if tt.elem_type else "float32"
    shape = tuple(_dim(d) for d in tt.shape.dim) if tt.HasField("shape") else ()
    layout = "NCHW" if len(shape) == 4 else None
    return TensorSpec(vi.name, dtype, shape, layout)


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    model = load_onnx(path, load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    ins = tuple(value_info_spec(v) for v in model.graph.input if v.name not in inits)
    outs = tuple(value_info_spec(v) for v in model.graph.output)
    for spec in (*ins, *outs):
        check_io_size(path, spec)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    meta = {"opset": opset, "ir_version": model.ir_version, "producer": model.producer_name}
    return ins, outs, meta


# --------------------------------------------------------------------------- read_graph

# ONNX TensorProto data type -> (numpy-style dtype name, bits per element)
_DTYPES: dict[int, tuple[str, int]] = {
    1: ("float32", 32), 2: ("uint8", 8), 3: ("int8", 8), 4: ("uint16", 16), 5: ("int16", 16),
    6: ("int32", 32), 7: ("int64", 64), 8: ("string", 0), 9: ("bool", 8), 10: ("float16", 16),
    11: ("float64", 64), 12: ("uint32", 32), 13: ("uint64", 64), 14: ("complex64", 64),
    15: ("complex128", 128), 16: ("bfloat16", 16), 17: ("float8e4m3fn", 8), 18: ("float8e4m3fnuz", 8),
    19: ("float8e5m2", 8), 20: ("float8e5m2fnuz", 8), 21: ("uint4", 4), 22: ("int4", 4),
    23: ("float4e2m1", 4), 24: ("float8e8m0", 8), 25: ("uint2", 2), 26: ("int2", 2),
    27: ("float6e2m3", 6), 28: ("float6e3m2", 6),
}

#: constants with at most this many elements keep their value (as numpy) in ``TensorInfo.value``
#: and stay in the model handed to shape inference (shape inputs, axes, scales...).
SMALL_CONSTANT = 4096
_VALUE_KEEP = 64


def dtype_name(elem_type: int) -> str | None:
    return _DTYPES.get(int(elem_type), (None, 0))[0] if elem_type else None


def dtype_bits(elem_type: int) -> int:
    return _DTYPES.get(int(elem_type), ("", 0))[1]


def _prod(dims: Any) -> int:
    n = 1
    for d in dims:
        n *= int(d)
    return n


def _nbytes(elem_type: int, numel: int) -> int:
    return (numel * dtype_bits(elem_type) + 7) // 8


def _inferred_dim(d: Any) -> int | str | None:
    """Like ``_dim``, but the fresh symbols shape inference invents (``unk__N``) read as unknown."""
    v = _dim(d)
    return None if isinstance(v, str) and v.startswith("unk__") else v


def _type_info(tp: Any) -> tuple[str | None, tuple[Any, ...] | None]:
    """(dtype, shape) of a TypeProto; (None, None) for non-tensor or untyped values."""
    if not tp.HasField("tensor_type"):
        return None, None
    tt = tp.tensor_type
    shape = tuple(_inferred_dim(d) for d in tt.shape.dim) if tt.HasField("shape") else None
    return dtype_name(tt.elem_type), shape


def _tensor_array(t: Any, base_dir: Path | None) -> Any:
    """numpy value of a small TensorProto (loading external data when its folder is known)."""
    from onnx import numpy_helper

    try:
        if t.data_location == 1:  # EXTERNAL
            if base_dir is None:
                return None
            from onnx.external_data_helper import load_external_data_for_tensor

            copy = type(t)()
            copy.CopyFrom(t)
            load_external_data_for_tensor(copy, str(base_dir))
            return numpy_helper.to_array(copy)
        return numpy_helper.to_array(t)
    except Exception:  # unsupported dtype for numpy, unreadable side file
        return None


def _attr_value(a: Any, base_dir: Path | None) -> Any:
    """Python value of an AttributeProto: int, float, str, lists, numpy (small tensors)."""
    from onnx import AttributeProto as A

    t = a.type
    if t == A.INT:
        return int(a.i)
    if t == A.FLOAT:
        return float(a.f)
    if t == A.STRING:
        return a.s.decode("utf-8", "replace")
    if t == A.INTS:
        return [int(v) for v in a.ints]
    if t == A.FLOATS:
        return [float(v) for v in a.floats]
    if t == A.STRINGS:
        return [s.decode("utf-8", "replace") for s in a.strings]
    if t == A.TENSOR:
        return _attr_tensor(a.t, base_dir)
    if t == A.SPARSE_TENSOR:
        return {"sparse_tensor": list(a.sparse_tensor.dims)}
    if t == A.GRAPH:
        return {"graph": a.g.name, "nodes": len(a.g.node)}
    if t == A.GRAPHS:
        return [{"graph": g.name, "nodes": len(g.node)} for g in a.graphs]
    if t == A.TENSORS:
        return [_attr_tensor(v, base_dir) for v in a.tensors]
    if t == A.TYPE_PROTO:
        return str(a.tp)
    return None


def _attr_tensor(t: Any, base_dir: Path | None) -> Any:
    numel = _prod(t.dims)
    if numel <= SMALL_CONSTANT:
        value = _tensor_array(t, base_dir)
        if value is not None:
            return value
    return TensorInfo(t.name, dtype_name(t.data_type), tuple(int(d) for d in t.dims), True,
                      _nbytes(t.data_type, numel))


def _constant_node_info(node: Any, base_dir: Path | None) -> TensorInfo | None:
    """The constant a ``Constant`` node produces (shape, dtype, bytes, small value)."""
    import numpy as np

    if not node.attribute:
        return None
    a = node.attribute[0]
    out = node.output[0]
    if a.name in ("value", "sparse_value"):
        t = a.t if a.name == "value" else a.sparse_value.values
        dims = tuple(int(d) for d in (a.t.dims if a.name == "value" else a.sparse_value.dims))
        numel = _prod(dims)
        value = _tensor_array(t, base_dir) if numel <= _VALUE_KEEP and a.name == "value" else None
        return TensorInfo(out, dtype_name(t.data_type), dims, True, _nbytes(t.data_type, _prod(t.dims)), None,
                          value)
    scalars = {"value_float": ("float32", np.float32), "value_int": ("int64", np.int64)}
    if a.name in scalars:
        name, np_type = scalars[a.name]
        v = a.f if a.name == "value_float" else a.i
        return TensorInfo(out, name, (), True, np.dtype(np_type).itemsize, None, np.asarray(v, dtype=np_type))
    lists = {"value_floats": ("float32", np.float32, "floats"), "value_ints": ("int64", np.int64, "ints")}
    if a.name in lists:
        name, np_type, field_name = lists[a.name]
        arr = np.asarray(list(getattr(a, field_name)), dtype=np_type)
        return TensorInfo(out, name, (arr.size,), True, arr.nbytes, None, arr if arr.size <= _VALUE_KEEP else None)
    if a.name == "value_string":
        return TensorInfo(out, "string", (), True, len(a.s), None, None)
    if a.name == "value_strings":
        return TensorInfo(out, "string", (len(a.strings),), True, sum(len(s) for s in a.strings), None, None)
    return None


def _shape_proxy(n: Any) -> Any:
    """A standard-domain node with the same output shapes as the ``com.microsoft`` op ``n``
    (QLinearAdd → Add, QGemm → Gemm...), so ONNX's own inference continues through it; else ``n``."""
    from onnx import helper

    ins, attrs = list(n.input), {a.name: helper.get_attribute_value(a) for a in n.attribute}

    def make(op: str, inputs: list[str], **kw: Any) -> Any:
        return helper.make_node(op, inputs, list(n.output), name=n.name, **kw)

    op = n.op_type
    if op in ("QLinearAdd", "QLinearMul") and len(ins) >= 4:
        return make(op[len("QLinear"):], [ins[0], ins[3]])
    if op in ("QLinearSigmoid", "QLinearLeakyRelu", "QLinearSoftmax") and ins:
        return make("Identity", [ins[0]])
    if op == "QLinearGlobalAveragePool" and not attrs.get("channels_last", 0):
        return make("GlobalAveragePool", [ins[0]])
    if op == "QLinearAveragePool" and not attrs.get("channels_last", 0):
        keep = ("auto_pad", "ceil_mode", "count_include_pad", "kernel_shape", "pads", "strides")
        return make("AveragePool", [ins[0]], **{k: v for k, v in attrs.items() if k in keep})
    if op == "QLinearConcat" and len(ins) >= 5:
        return make("Concat", ins[2::3], axis=int(attrs.get("axis", 0)))
    if op == "QGemm" and len(ins) >= 6:
        gemm_in = [ins[0], ins[3]] + ([ins[6]] if len(ins) > 6 and ins[6] else [])
        return make("Gemm", gemm_in, transA=int(attrs.get("transA", 0)), transB=int(attrs.get("transB", 0)))
    if op == "FusedConv" and len(ins) >= 2:
        keep = ("auto_pad", "dilations", "group", "kernel_shape", "pads", "strides")
        return make("Conv", ins[:3], **{k: v for k, v in attrs.items() if k in keep})
    return n


def _skeleton(model: Any, base_dir: Path | None) -> Any:
    """A weight-free copy of ``model`` for shape inference.

    Large constants (initializers and ``Constant`` nodes) become typed graph inputs: shape
    inference only needs their type, and the model handed to it stays small however big the
    weights are (no 2 GB limit, no copy of the weight bytes). Small constants keep their data
    (shape inputs, axes, scales), which data propagation uses.
    """
    from onnx import ModelProto, helper

    g = model.graph
    sk = ModelProto()
    sk.ir_version = model.ir_version
    sk.opset_import.extend(model.opset_import)
    sk.functions.extend(model.functions)
    sg = sk.graph
    sg.name = g.name
    sg.input.extend(g.input)
    sg.output.extend(g.output)
    sg.value_info.extend(g.value_info)
    declared = {v.name for v in g.input}
    for t in g.initializer:
        numel = _prod(t.dims)
        if numel <= SMALL_CONSTANT and t.data_location != 1:
            sg.initializer.append(t)
        elif numel <= SMALL_CONSTANT and base_dir is not None and (value := _tensor_array(t, base_dir)) is not None:
            from onnx import numpy_helper

            sg.initializer.append(numpy_helper.from_array(value, t.name))
        elif t.name not in declared:
            sg.input.append(helper.make_tensor_value_info(t.name, t.data_type, list(t.dims)))
            declared.add(t.name)
    for st in g.sparse_initializer:
        name = st.values.name
        if name not in declared:
            sg.input.append(helper.make_tensor_value_info(name, st.values.data_type, list(st.dims)))
            declared.add(name)
    for n in g.node:
        if n.op_type == "Constant" and n.domain in ("", "ai.onnx") and n.attribute \
                and n.attribute[0].name == "value" and _prod(n.attribute[0].t.dims) > SMALL_CONSTANT:
            t = n.attribute[0].t
            sg.input.append(helper.make_tensor_value_info(n.output[0], t.data_type, list(t.dims)))
            continue
        sg.node.append(_shape_proxy(n) if n.domain == "com.microsoft" else n)
    return sk


def _infer(model: Any, base_dir: Path | None, data_prop: bool) -> tuple[Any, str]:
    """Shape-inferred weight-free model and a status line ("ok", "ok (no data propagation)", "failed: ...")."""
    onnx = require("onnx", "onnx", "reading ONNX models")
    sk = _skeleton(model, base_dir)
    errors: list[str] = []
    for prop in ([True, False] if data_prop else [False]):
        try:
            inferred = onnx.shape_inference.infer_shapes(sk, check_type=False, strict_mode=False, data_prop=prop)
            return inferred, "ok" if prop == data_prop else "ok (without data propagation)"
        except Exception as exc:  # inference errors come as several types (InferenceError, RuntimeError...)
            errors.append(str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__)
    return sk, "failed: " + errors[-1]


def _ort_symbolic_shapes(skeleton: Any) -> dict[str, tuple[str | None, tuple[Any, ...]]]:
    """Shapes from ONNX Runtime's symbolic shape inference, which knows the ``com.microsoft`` ops
    (QGemm, QLinearAdd...) that ONNX's own inference leaves unknown. Empty when unavailable."""
    from edgeport._optional import is_available

    if not is_available("onnxruntime"):
        return {}
    try:
        from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

        out = SymbolicShapeInference.infer_shapes(skeleton, auto_merge=True, guess_output_rank=True)
    except Exception:  # its own failures (unsupported ops, merge conflicts): keep ONNX's shapes
        return {}
    if out is None:
        return {}
    shapes: dict[str, tuple[str | None, tuple[Any, ...]]] = {}
    for vi in [*out.graph.value_info, *out.graph.output]:
        dtype, shape = _type_info(vi.type)
        if shape is not None:
            shapes[vi.name] = (dtype, shape)
    return shapes


def _fill_unknown(tensors: dict[str, TensorInfo], extra: dict[str, tuple[str | None, tuple[Any, ...]]],
                  symbols: set[str]) -> None:
    """Fill unknown dims from ``extra``: its static dims, and symbols that are the graph's own."""
    for name, (dtype, shape) in extra.items():
        usable = tuple(d if isinstance(d, int) or d in symbols else None for d in shape)
        t = tensors.get(name)
        if t is None:
            tensors[name] = TensorInfo(name, dtype, usable)
        elif t.is_constant:
            continue
        elif t.shape is None:
            t.shape = usable
        elif len(t.shape) == len(usable):
            t.shape = tuple(d if d is not None else u for d, u in zip(t.shape, usable))


def _alias_identity_constants(nodes: list[Node], tensors: dict[str, TensorInfo]) -> None:
    """``Identity`` of a constant is a constant too: an alias holding no bytes of its own.

    The TorchScript exporter stores equal-valued weights once and feeds the other users through
    ``Identity`` nodes; as aliases they still count as parameters (as in the PyTorch module) but
    not twice in ``nbytes``.
    """
    for node in nodes:
        if node.op_type != "Identity" or node.domain not in ("", "ai.onnx") or not node.inputs or not node.outputs:
            continue
        src = tensors.get(node.inputs[0])
        if src is not None and src.is_constant:
            tensors[node.outputs[0]] = TensorInfo(node.outputs[0], src.dtype, src.shape, True, 0, src.quant,
                                                  src.value)


def read_graph(model: Any, *, infer_shapes: bool = True, data_prop: bool = True) -> Graph:
    """Read an ONNX model (path, ``Artifact`` or ``onnx.ModelProto``) into the analysis ``Graph``.

    Shape inference runs on a weight-free copy (``data_prop`` on, falling back to plain
    inference, then to the shapes stored in the file); symbolic dims stay ``str``, unknown
    dims ``None``. Initializers and ``Constant`` outputs are constant tensors with their byte
    size computed from dims and dtype (weights are never copied into numpy); constants of up to
    64 elements keep their value; the output of ``Identity`` on a constant is a constant alias
    (0 bytes of its own). Attributes are decoded to Python values (small tensors as
    numpy). ``Graph.opset`` is the default-domain opset; ``metadata`` holds the other opsets,
    IR version, producer and the shape-inference status.
    """
    path: Path | None = None
    if hasattr(model, "graph") and hasattr(model, "opset_import"):
        proto = model
    else:
        path = Path(getattr(model, "path", model))
        if not path.exists():
            raise ModelFileError(f"{path}: no such file", fix="check the path")
        proto = load_onnx(path, load_external_data=False)
    base_dir = path.parent if path is not None else None
    g = proto.graph
    where = path or g.name or "model"
    for vi in [*g.input, *g.output]:  # declared shapes: refused when no real model could hold them
        if vi.type.HasField("tensor_type"):
            check_dims(where, repr(vi.name), tuple(_dim(d) for d in vi.type.tensor_type.shape.dim))
    for t in g.initializer:
        check_dims(where, f"initializer {t.name!r}", tuple(int(d) for d in t.dims))
    if infer_shapes:
        inferred, status = _infer(proto, base_dir, data_prop)
    else:
        inferred, status = proto, "skipped"
    tensors: dict[str, TensorInfo] = {}
    ig = inferred.graph
    for vi in [*ig.input, *ig.value_info, *ig.output]:
        dtype, shape = _type_info(vi.type)
        if vi.name not in tensors or (tensors[vi.name].shape is None and shape is not None):
            tensors[vi.name] = TensorInfo(vi.name, dtype, shape)
    init_names: set[str] = set()
    external: dict[str, None] = {}
    for t in g.initializer:
        if t.data_location == 1:
            external.update({e.value: None for e in t.external_data if e.key == "location"})
        numel = _prod(t.dims)
        value = _tensor_array(t, base_dir) if numel <= _VALUE_KEEP else None
        tensors[t.name] = TensorInfo(t.name, dtype_name(t.data_type), tuple(int(d) for d in t.dims), True,
                                     _nbytes(t.data_type, numel), None, value)
        init_names.add(t.name)
    for st in g.sparse_initializer:
        name = st.values.name
        stored = _nbytes(st.values.data_type, _prod(st.values.dims)) + _nbytes(st.indices.data_type,
                                                                               _prod(st.indices.dims))
        tensors[name] = TensorInfo(name, dtype_name(st.values.data_type), tuple(int(d) for d in st.dims), True,
                                   stored)
        init_names.add(name)
    if infer_shapes and any(o.domain not in ("", "ai.onnx") for o in proto.opset_import):
        unknown = [n for node in g.node for n in node.output
                   if n and (tensors.get(n) is None or not tensors[n].is_static)]
        if unknown:  # contrib ops stopped ONNX's inference: try ONNX Runtime's
            symbols = {d for v in g.input for d in (tensors[v.name].shape or ()) if isinstance(d, str)}
            _fill_unknown(tensors, _ort_symbolic_shapes(_skeleton(proto, base_dir)), symbols)
            status += " (+ onnxruntime symbolic shapes)"
    nodes: list[Node] = []
    for i, n in enumerate(g.node):
        op_type, domain, ins, outs = n.op_type, n.domain, list(n.input), list(n.output)
        if op_type == "Constant" and domain in ("", "ai.onnx") and outs:
            info = _constant_node_info(n, base_dir)
            if info is not None:
                tensors[info.name] = info
        for name in ins + outs:
            if name and name not in tensors:
                tensors[name] = TensorInfo(name, None, None)
        attrs = {a.name: _attr_value(a, base_dir) for a in n.attribute} if len(n.attribute) else {}
        nodes.append(Node(n.name or f"{op_type}_{i}", op_type, ins, outs, attrs, domain))
    _alias_identity_constants(nodes, tensors)
    opsets = {(o.domain or "ai.onnx"): int(o.version) for o in proto.opset_import}
    metadata: dict[str, Any] = {"ir_version": int(proto.ir_version), "producer": proto.producer_name,
                                "producer_version": proto.producer_version, "opsets": opsets,
                                "shape_inference": status}
    if external:
        metadata["external_data"] = list(external)  # side files, relative to the model's folder
    if path is not None:
        metadata["path"] = str(path)
    return Graph(name=g.name or (path.stem if path else "model"), format=Format.ONNX, nodes=nodes,
                 tensors=tensors, inputs=[v.name for v in g.input if v.name not in init_names],
                 outputs=[v.name for v in g.output], opset=opsets.get("ai.onnx"), metadata=metadata)
