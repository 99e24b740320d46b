"""Canonical operator names (``targets/rules/canonical.toml``) and per-node facts the rules need.

ONNX op types and TFLite builtin names map to one canonical name (``Conv``/``CONV_2D`` → ``conv``),
so each rule table and per-op estimate is written once for both formats.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from pathlib import Path

from edgeport.core.formats import Format
from edgeport.graph.ir import Graph, Node

__all__ = ["canonical_op", "compute_dtype", "dynamic_axes", "rules_dir"]


def rules_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "targets" / "rules"


@lru_cache(maxsize=1)
def _table() -> dict[str, dict[str, str]]:
    data = tomllib.loads((rules_dir() / "canonical.toml").read_text(encoding="utf-8"))
    out: dict[str, dict[str, str]] = {"onnx": {}, "tflite": {}}
    for canon, names in data["ops"].items():
        for fmt in ("onnx", "tflite"):
            for n in names.get(fmt, []):
                out[fmt][n] = canon
    return out


def canonical_op(graph: Graph, node: Node) -> str:
    """The canonical name of ``node`` (``custom:<name>`` / ``flex:<name>`` / ``unknown:<name>`` otherwise)."""
    fmt = graph.format.value if isinstance(graph.format, Format) else str(graph.format)
    if node.domain in ("custom", "flex"):
        return f"{node.domain}:{node.op_type}"
    if fmt == "onnx" and node.domain not in ("", "ai.onnx"):
        return f"unknown:{node.domain}.{node.op_type}"
    canon = _table().get(fmt, {}).get(node.op_type)
    if canon is None:
        return f"unknown:{node.op_type}"
    if canon == "conv" and fmt == "onnx":
        group = int(node.attrs.get("group", 1) or 1)
        if group > 1:
            w = graph.tensor(node.inputs[1]) if len(node.inputs) > 1 else None
            # depthwise: one input channel per group (weight shape [C_out, 1, kH, kW])
            if w is not None and w.shape is not None and len(w.shape) >= 2 and w.shape[1] == 1:
                return "depthwise_conv"
    return canon


def compute_dtype(graph: Graph, node: Node) -> str | None:
    """The dtype the node computes in: its first activation input's dtype, seen through a QDQ pair.

    A float node fed by ``DequantizeLinear`` (ONNX QDQ) computes in the quantised type; nodes without
    activation inputs use their first output's dtype.
    """
    for name in node.inputs:
        t = graph.tensor(name)
        if t is None or t.is_constant:
            continue
        prod = graph.producers.get(name)
        if prod is not None and prod.op_type == "DequantizeLinear" and t.dtype in ("float32", "float16"):
            src = graph.tensor(prod.inputs[0])
            if src is not None and src.dtype:
                return src.dtype
        return t.dtype
    for name in node.outputs:
        t = graph.tensor(name)
        if t is not None and t.dtype:
            return t.dtype
    return None


def dynamic_axes(graph: Graph, name: str) -> list[int]:
    """Axes of tensor ``name`` that are not fixed (rank unknown: ``[-1]``).

    A TFLite tensor whose ``shape_signature`` has ``-1`` only in the batch axis runs at its stored
    shape (batch 1) unless the app resizes it, so that axis counts as fixed.
    """
    t = graph.tensor(name)
    if t is None or t.is_constant:
        return []
    if t.shape is None:
        return [-1]
    axes = [i for i, d in enumerate(t.shape) if not isinstance(d, int) or d < 0]
    if graph.format == Format.TFLITE and axes == [0] and t.shape[0] == "batch":
        return []
    return axes
