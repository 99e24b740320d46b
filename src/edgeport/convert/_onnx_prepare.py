"""Prepare an ONNX model for a backend converter: fixed shapes, simplified, constant control flow folded.

Real exported graphs carry dynamic dims, shape arithmetic (Shape → Gather → Concat → Reshape) and
``If`` nodes that branch on an input (silero-vad branches on its ``sr`` sample rate). onnx2tf, OpenVINO
and TVM each choke on some of that while every operator is supported. So before handing the file over:

1. the inputs get the user's shapes (``--shape``); a symbolic batch becomes ``batch`` (None keeps it);
2. a constant value given for a small integer/bool input (``--input sr=16000``) is baked in as an
   initializer — the input disappears from the prepared model, and the artifact records it under
   ``baked_inputs`` so verification feeds the reference the same value;
3. ``onnxslim`` runs shape inference, constant folding (which flattens an ``If`` whose condition is now
   constant) and dead-node elimination.

``prepare_onnx`` returns the prepared file and a short list of what was done for the lineage step.
An onnxslim failure is not fatal: the fixed-shape model is used as is and the note says so.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.formats import Format
from edgeport.core.tensors import TensorSpec
from edgeport.errors import ConfigError

__all__ = ["BAKE_MAX_ELEMENTS", "Prepared", "constant_inputs", "prepare_for", "prepare_onnx", "unknown_dims_error"]

#: a constant input value is baked into the model only when it has at most this many elements
#: (configuration scalars such as a sample rate); tensors such as a recurrent state stay inputs.
BAKE_MAX_ELEMENTS = 16


@dataclass(frozen=True)
class Prepared:
    path: Path
    baked: dict[str, Any] = field(default_factory=dict)  # input name → value now inside the model
    notes: tuple[str, ...] = ()  # what was done, one short phrase each


def constant_inputs(artifact: Artifact) -> dict[str, np.ndarray]:
    """The constant input values the user gave (``--input name=value``), as the artifact carries them.

    The input plan puts them in ``artifact.metadata["input_values"]`` (name → JSON scalar or list).
    """
    values = artifact.metadata.get("input_values") or {}
    return {str(k): np.asarray(v) for k, v in dict(values).items()}


def unknown_dims_error(specs: Sequence[TensorSpec], backend: str) -> ConfigError | None:
    """A one-line ``ConfigError`` naming ``--shape`` when a non-batch dim of some input is still unknown."""
    unknown = [s for s in specs if any(not _static(d) for d in s.shape[1:])]
    if not unknown:
        return None
    named = ", ".join(f"{s.name} {s.shape_str()}" for s in unknown)
    example = " ".join(f"--shape {s.name}=" + "x".join(str(d) if _static(d) else ("1" if i == 0 else "N")
                                                       for i, d in enumerate(s.shape)) for s in unknown)
    return ConfigError(f"{backend} needs fixed input shapes; unknown dims in: {named}",
                       fix=f"give the shapes you run the model at, e.g. {example}")


def prepare_for(artifact: Artifact, work_dir: Path, *, backend: str, batch: int | None = 1,
                static: bool = True) -> tuple[Artifact, dict[str, Any]]:
    """``artifact`` prepared for ``backend``: a stand-in artifact at the prepared file, and metadata for the result.

    ``static``: the backend compiles fixed shapes, so an unknown non-batch dim fails here naming ``--shape``.
    The stand-in keeps ``artifact``'s lineage and layouts; its inputs are the prepared model's (baked
    constants gone, shapes fixed). The metadata lists what was done (``prepared``) and the baked values
    (``baked_inputs``), which verification feeds to the source model.
    """
    constants = constant_inputs(artifact)
    if static:
        error = unknown_dims_error([s for s in artifact.inputs if s.name not in constants], backend)
        if error is not None:
            raise error
    prepared = prepare_onnx(artifact.path, artifact.inputs, work_dir, batch=batch, constants=constants)
    loaded = load_artifact(prepared.path, format=Format.ONNX)
    layouts = {s.name: s.layout for s in (*artifact.inputs, *artifact.outputs)}
    inputs = tuple(replace(s, layout=s.layout or layouts.get(s.name)) for s in loaded.inputs)
    outputs = tuple(replace(s, layout=s.layout or layouts.get(s.name)) for s in loaded.outputs)
    stand_in = replace(artifact, path=prepared.path, inputs=inputs, outputs=outputs)
    meta: dict[str, Any] = {"prepared": list(prepared.notes)}
    if prepared.baked:
        meta["baked_inputs"] = dict(prepared.baked)
    return stand_in, meta


def prepare_onnx(source: Path, specs: Sequence[TensorSpec], work_dir: Path, *, batch: int | None = 1,
                 constants: Mapping[str, np.ndarray] | None = None, simplify: bool = True) -> Prepared:
    """Write a prepared copy of ``source`` into ``work_dir`` (see the module doc).

    Not cached: it takes seconds (2–6 s on the OCR/VAD/layout models measured) next to conversions
    that take tens of seconds to minutes.
    """
    import onnx

    constants = dict(constants or {})
    out = Path(work_dir) / f"{Path(source).stem}.prepared.onnx"
    model = onnx.load(str(source))
    notes: list[str] = []
    baked = _bake_constants(model, constants)
    if baked:
        notes.append("baked constant input(s) " + ", ".join(f"{k}={_show(v)}" for k, v in baked.items()))
    fixed = _fix_shapes(model, specs, batch)
    if fixed:
        notes.append("fixed input shape(s) " + ", ".join(fixed))
    ifs_before = _count_ops(model.graph, "If")
    nodes_before = len(model.graph.node)
    if simplify:
        model, note = _slim(model)
        notes.append(note)
    _safe_node_names(model.graph)
    ifs_after = _count_ops(model.graph, "If")
    if ifs_before > ifs_after:
        notes.append(f"folded {ifs_before - ifs_after} of {ifs_before} If node(s) with a constant condition")
    elif ifs_before:
        notes.append(f"{ifs_before} If node(s) remain (condition not constant under these shapes)")
    if simplify and len(model.graph.node) != nodes_before:
        notes.append(f"nodes {nodes_before} → {len(model.graph.node)}")
    _save_atomic(model, out)
    return Prepared(out, {k: _jsonable(v) for k, v in baked.items()}, tuple(notes))


def _static(dim: Any) -> bool:
    """A known size (some readers write an unknown dim as -1)."""
    return isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0


def _real_inputs(graph: Any) -> list[Any]:
    inits = {i.name for i in graph.initializer}
    return [v for v in graph.input if v.name not in inits]


def _bake_constants(model: Any, constants: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Turn each small constant input into an initializer of the input's dtype; the rest stay inputs."""
    from onnx import helper, numpy_helper

    baked: dict[str, np.ndarray] = {}
    graph = model.graph
    for vi in _real_inputs(graph):
        if vi.name not in constants:
            continue
        value = np.asarray(constants[vi.name])
        tt = vi.type.tensor_type
        dtype = np.dtype(helper.tensor_dtype_to_np_dtype(tt.elem_type))
        if value.size > BAKE_MAX_ELEMENTS or dtype.kind not in "iub":
            continue  # data, not configuration: it stays an input and is fed at run time
        dims = [d.dim_value if d.HasField("dim_value") else None for d in tt.shape.dim]
        if len(dims) != value.ndim:
            if value.size == int(np.prod([d or 1 for d in dims])) and all(d is not None for d in dims):
                value = value.reshape(dims)
            else:
                raise ConfigError(f"input {vi.name!r} value {_show(value)} has rank {value.ndim}, the model "
                                  f"declares rank {len(dims)}",
                                  fix=f"give {vi.name} a value of shape {dims}")
        cast = value.astype(dtype)
        if not np.array_equal(cast, value):
            raise ConfigError(f"input {vi.name!r} value {_show(value)} does not fit its dtype {dtype.name}",
                              fix=f"give {vi.name} a {dtype.name} value")
        graph.initializer.append(numpy_helper.from_array(cast, vi.name))
        graph.input.remove(vi)
        baked[vi.name] = cast
    return baked


def _fix_shapes(model: Any, specs: Sequence[TensorSpec], batch: int | None) -> list[str]:
    """Write ``specs``' known dims into the graph inputs (an unknown batch → ``batch``); returns what changed."""
    by_name = {s.name: s for s in specs}
    changed = []
    for vi in _real_inputs(model.graph):
        spec = by_name.get(vi.name)
        dims = vi.type.tensor_type.shape.dim
        if spec is None or len(spec.shape) != len(dims):
            continue
        wanted = list(spec.shape)
        if wanted and not _static(wanted[0]) and batch is not None:
            wanted[0] = batch
        before = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        for d, w in zip(dims, wanted):
            if _static(w):
                d.Clear()
                d.dim_value = w
        after = [d.dim_value if d.HasField("dim_value") else None for d in dims]
        if after != before:
            changed.append(f"{vi.name}=" + "x".join("?" if w is None else str(w) for w in after))
    if changed:
        del model.graph.value_info[:]  # inferred under the old shapes; onnxslim infers them again
        for vi in model.graph.output:
            # a declared output shape is an exporter's guess (ddddocr declares [1, seqlen] for a
            # [32, 1, 8210] result); onnxslim folds shape arithmetic to match it, so let it infer instead
            if any(not d.HasField("dim_value") for d in vi.type.tensor_type.shape.dim):
                vi.type.tensor_type.ClearField("shape")
    return changed


def _slim(model: Any) -> tuple[Any, str]:
    import onnxslim

    try:
        return onnxslim.slim(model), "simplified with onnxslim"
    except Exception as exc:  # onnxslim raises assorted errors on unusual graphs; the model is still usable
        first = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
        return model, f"onnxslim failed ({first[:160]}); used the model unsimplified"


_UNSAFE = re.compile(r"[^A-Za-z0-9_./>-]")


def _safe_node_names(graph: Any) -> None:
    """Node names TensorFlow accepts as scopes: onnxslim names unnamed nodes ``Softmax@0``, which onnx2tf
    turns into an invalid TF scope and fails on (ppocr-cls). Unique names, only ``[A-Za-z0-9_./>-]``."""
    seen: set[str] = set()
    for i, node in enumerate(graph.node):
        name = _UNSAFE.sub("_", node.name) or f"{node.op_type}_{i}"
        while name in seen:
            name = f"{name}_{i}"
        seen.add(name)
        node.name = name


def _count_ops(graph: Any, op_type: str) -> int:
    total = 0
    for node in graph.node:
        total += node.op_type == op_type
        for attr in node.attribute:
            if attr.g.node:
                total += _count_ops(attr.g, op_type)
            for sub in attr.graphs:
                total += _count_ops(sub, op_type)
    return total


def _save_atomic(model: Any, out: Path) -> None:
    import onnx

    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.partial")
    try:
        onnx.save_model(model, str(tmp), save_as_external_data=False)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def _jsonable(value: Any) -> Any:
    arr = np.asarray(value)
    return arr.item() if arr.ndim == 0 else arr.tolist()


def _show(value: Any) -> str:
    return json.dumps(_jsonable(value))
