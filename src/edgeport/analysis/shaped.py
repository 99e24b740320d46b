"""The analysis graph at the user's input shapes, and the one-line note when some dim stays unknown.

Binding an input's symbol is not enough for a dynamic model: ONNX shape inference gives each
intermediate tensor its own fresh symbol (PP-OCR's detector at ``[?, 3, ?, ?]`` has convolution
outputs of unknown H×W), so every MAC and byte count would read them as 1. ``shaped_graph``
therefore writes an ONNX copy with the input dims fixed (``fix_dynamic_shapes``: set the inputs,
re-run shape inference with data propagation) and reads the graph from it. TFLite graphs are
stored at concrete shapes; their ``-1`` signature dims are bound by name instead (``dims_of``).

Whatever shape is not given stays as it was — batch dims count as 1, unknown dims as 1 — and
``input_note`` says so in one line naming ``--shape``: no number silently depends on a 1.
"""

from __future__ import annotations

import dataclasses
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact, load_artifact
from edgeport.core.formats import Format
from edgeport.core.inputs import InputPlan, apply_plan, concrete_specs, constant_values, unknown_dims_note
from edgeport.core.tensors import TensorSpec
from edgeport.graph.ir import Graph
from edgeport.graph.load import load_graph

__all__ = ["dims_of", "input_note", "plan_from", "shaped_graph"]

NOTE_KEY = "unknown_dims_note"


def plan_from(model: Any, shapes: Iterable[str] | Mapping[str, Any] | None = None,
              inputs: Iterable[str] | Mapping[str, Any] | None = None) -> InputPlan:
    """The plan a public function was given: ``shapes=``/``inputs=`` on top of an artifact's recorded plan."""
    given = InputPlan.parse(shapes, inputs)
    recorded = model.input_plan if isinstance(model, Artifact) else InputPlan()
    return given.with_defaults(recorded)


def graph_specs(graph: Graph) -> tuple[TensorSpec, ...]:
    """The graph's inputs as specs (rank-unknown inputs left out: there is nothing to say about their dims)."""
    specs = []
    for name in graph.inputs:
        t = graph.tensor(name)
        if t is not None and t.shape is not None and not t.is_constant:
            specs.append(TensorSpec(name, t.dtype or "float32", tuple(t.shape)))
    return tuple(specs)


def input_note(graph: Graph) -> str | None:
    """The graph's one-line unknown-dims note (recorded by ``shaped_graph``, else read off its inputs)."""
    if NOTE_KEY in graph.metadata:
        return graph.metadata[NOTE_KEY]  # type: ignore[no-any-return]
    return unknown_dims_note(graph_specs(graph))


def dims_of(specs: Iterable[TensorSpec], shaped: Iterable[TensorSpec]) -> dict[str, int]:
    """Symbol → size, read off declared specs and the same specs at concrete shapes."""
    out: dict[str, int] = {}
    for spec, conc in zip(specs, shaped):
        for d, v in zip(spec.shape, conc.shape):
            if isinstance(d, str) and isinstance(v, int):
                out[d] = v
    return out


def shaped_graph(model: Any, plan: InputPlan | None = None) -> Graph:
    """The analysis ``Graph`` of ``model`` with ``plan``'s shapes applied (``ConfigError`` naming the input
    and its declared shape when they do not fit); ``graph.metadata["unknown_dims_note"]`` holds the note."""
    plan = plan or InputPlan()
    if isinstance(model, Graph) or (hasattr(model, "graph") and hasattr(model, "opset_import")):
        graph = load_graph(model)
        return _noted(graph, input_note(graph))
    artifact = model if isinstance(model, Artifact) else load_artifact(model)
    declared = artifact.inputs
    shaped = apply_plan(declared, plan)
    note = unknown_dims_note(shaped)
    if artifact.format is Format.ONNX:
        folded = _folded(artifact, shaped, plan)
        if folded is not None:
            return _noted(folded, note)
    if plan.empty:
        graph = load_graph(artifact)
        return _noted(graph, input_note(graph))
    if artifact.format is not Format.ONNX:
        graph = load_graph(artifact)
        return _noted(dataclasses.replace(graph, metadata={**graph.metadata, "dims": dims_of(declared, shaped)}),
                      note)
    from edgeport.analysis.dynamic import fix_dynamic_shapes
    from edgeport.graph.onnx_reader import read_graph

    concrete = concrete_specs(shaped, plan.batch)
    with tempfile.TemporaryDirectory(prefix="edgeport-shaped-") as tmp:
        fixed = fix_dynamic_shapes(artifact, Path(tmp) / artifact.path.name,
                                   {s.name: list(s.shape) for s in concrete})  # type: ignore[misc]
        graph = read_graph(fixed)  # not load_graph: the file is gone after this block
    graph = dataclasses.replace(graph, metadata={**graph.metadata, "path": str(artifact.path),
                                          "input_shapes": {s.name: list(s.shape) for s in concrete}})
    return _noted(graph, note)


def _folded(artifact: Artifact, shaped: tuple[TensorSpec, ...], plan: InputPlan) -> Graph | None:
    """The graph with its constant inputs baked in and constant ``If`` nodes folded, when control flow on
    such an input hides the model (silero's VAD is five top-level nodes, its convolutions inside an ``If``
    on the sample rate ``sr``); ``None`` when the graph has no ``If`` or no input value is known. The
    values are the user's (``--input sr=16000``) or those the graph implies (``data.synthetic.feed_plan``)."""
    if not any(n.op_type == "If" for n in load_graph(artifact).nodes):
        return None
    from edgeport.convert._onnx_prepare import prepare_onnx
    from edgeport.data.synthetic import feed_plan
    from edgeport.graph.onnx_reader import read_graph

    full = feed_plan(artifact, plan)
    constants = constant_values(artifact.inputs, full)
    if not constants:
        return None
    concrete = concrete_specs(shaped, plan.batch)
    with tempfile.TemporaryDirectory(prefix="edgeport-folded-") as tmp:
        prepared = prepare_onnx(artifact.path, concrete, Path(tmp), batch=plan.batch or 1, constants=constants)
        graph = read_graph(prepared.path)
    return dataclasses.replace(graph, metadata={**graph.metadata, "path": str(artifact.path),
                                                "input_shapes": {s.name: list(s.shape) for s in concrete},
                                                "prepared": list(prepared.notes)})


def _noted(graph: Graph, note: str | None) -> Graph:
    return dataclasses.replace(graph, metadata={**graph.metadata, NOTE_KEY: note})
