"""Operator rule tables per execution path (``targets/rules/<path>.toml``) and the per-node check.

A table lists the canonical ops a path runs and its constraints: allowed compute dtypes, dynamic
shapes (``reject`` / ``slow`` / ``ok``), maximum rank, and per op: dtypes, inputs that must be
constant, allowed attribute values (``attr_in``) and attribute maxima (``attr_max``). Graph-level
rules: ``requires_quantized`` (QNN HTP expects a fully quantised graph), ``prefix_only`` (the Edge
TPU compiler stops at the first unsupported op).
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from edgeport.analysis.canonical import canonical_op, compute_dtype, dynamic_axes, rules_dir
from edgeport.errors import ConfigError, UnknownNameError
from edgeport.graph.ir import Graph, Node

__all__ = ["NodeCheck", "OpRule", "PathRules", "check_node", "get_rules"]

_NON_COMPUTE = {"quantize", "dequantize", "cast", "shape", "identity", "constant"}


@dataclass(frozen=True)
class OpRule:
    dtypes: tuple[str, ...] | None = None
    max_rank: int | None = None
    const_inputs: tuple[int, ...] = ()
    attr_in: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    attr_max: dict[str, float] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class PathRules:
    path: str
    name: str
    source: str
    kind: str  # "accelerator" or "cpu"
    dtypes: tuple[str, ...]
    dynamic_shapes: str
    max_rank: int
    ops: dict[str, OpRule]
    all_ops: bool = False
    exclude: tuple[str, ...] = ()
    prefix_only: bool = False
    requires_quantized: bool = False
    compute_dtype: str | None = None

    def rule(self, op: str) -> OpRule | None:
        if op in self.ops:
            return self.ops[op]
        family = op.split(":", 1)[0] if ":" in op else op
        if self.all_ops and family not in self.exclude and op not in self.exclude:
            return OpRule()
        return None


@dataclass(frozen=True)
class NodeCheck:
    supported: bool
    reason: str = ""  # "op" | "dtype" | "dynamic-shape" | "rank" | "attribute" | "constant-input"
    detail: str = ""
    slow: bool = False  # runs, but de-accelerated (dynamic shapes on a 'slow' path)


def _op_rule(raw: dict[str, Any], where: str) -> OpRule:
    try:
        return OpRule(dtypes=tuple(raw["dtypes"]) if "dtypes" in raw else None, max_rank=raw.get("max_rank"),
                      const_inputs=tuple(raw.get("const_inputs", ())),
                      attr_in={k: tuple(v) for k, v in raw.get("attr_in", {}).items()},
                      attr_max=dict(raw.get("attr_max", {})), note=str(raw.get("note", "")))
    except (TypeError, AttributeError) as exc:
        raise ConfigError(f"{where}: malformed op rule ({exc})", fix="see the shipped rule tables") from None


@lru_cache(maxsize=None)
def get_rules(path: str) -> PathRules:
    file = rules_dir() / f"{path}.toml"
    if not file.is_file() or path == "canonical":
        known = sorted(p.stem for p in rules_dir().glob("*.toml") if p.stem != "canonical")
        raise UnknownNameError(f"no rule table for execution path {path!r}", fix=f"use one of: {', '.join(known)}")
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{file}: invalid TOML: {exc}", fix="fix the syntax at that line") from None
    per_op = data.get("op", {})
    ops = {name: _op_rule(per_op.get(name, {}), f"{file} op.{name}") for name in data.get("ops", [])}
    for name, raw in per_op.items():
        ops.setdefault(name, _op_rule(raw, f"{file} op.{name}"))
    return PathRules(path=data["path"], name=data["name"], source=data["source"], kind=data["kind"],
                     dtypes=tuple(data["dtypes"]), dynamic_shapes=data.get("dynamic_shapes", "ok"),
                     max_rank=int(data.get("max_rank", 8)), ops=ops, all_ops=bool(data.get("all_ops", False)),
                     exclude=tuple(data.get("exclude", ())), prefix_only=bool(data.get("prefix_only", False)),
                     requires_quantized=bool(data.get("requires_quantized", False)),
                     compute_dtype=data.get("compute_dtype"))


def _is_dynamic(graph: Graph, name: str) -> bool:
    return bool(dynamic_axes(graph, name))


def _rank(graph: Graph, node: Node) -> int:
    ranks = [len(t.shape) for n in [*node.inputs, *node.outputs] if (t := graph.tensor(n)) is not None
             and t.shape is not None and not t.is_constant]
    return max(ranks, default=0)


def check_node(graph: Graph, node: Node, rules: PathRules) -> NodeCheck:
    """Can ``rules.path`` run ``node``? The first failing constraint is the reason."""
    op = canonical_op(graph, node)
    rule = rules.rule(op)
    if rule is None:
        return NodeCheck(False, "op", f"{node.op_type} is not supported by {rules.path}")
    dtype = compute_dtype(graph, node)
    allowed = rule.dtypes or rules.dtypes
    if dtype is not None and dtype not in allowed:
        return NodeCheck(False, "dtype", f"{node.op_type} in {dtype}; {rules.path} runs {'/'.join(allowed)}")
    if rules.requires_quantized and op not in _NON_COMPUTE and dtype in ("float32", "float16", "bfloat16"):
        return NodeCheck(False, "dtype", f"{rules.path} expects a fully quantised graph; {node.op_type} is {dtype}")
    dynamic = [n for n in [*node.inputs, *node.outputs] if n and _is_dynamic(graph, n)]
    slow = False
    if dynamic:
        if rules.dynamic_shapes == "reject":
            return NodeCheck(False, "dynamic-shape", f"{dynamic[0]} has a dynamic shape; {rules.path} needs static shapes")
        slow = rules.dynamic_shapes == "slow"
    max_rank = min(rule.max_rank or rules.max_rank, rules.max_rank)
    if _rank(graph, node) > max_rank:
        return NodeCheck(False, "rank", f"rank {_rank(graph, node)} > {max_rank}")
    for idx in rule.const_inputs:
        if idx < len(node.inputs) and node.inputs[idx]:
            t = graph.tensor(node.inputs[idx])
            if t is None or not t.is_constant:
                return NodeCheck(False, "constant-input",
                                 f"input {idx} of {node.op_type} must be constant on {rules.path}")
    for attr, values in rule.attr_in.items():
        v = node.attrs.get(attr)
        v = v.decode() if isinstance(v, bytes) else v
        if v is not None and v not in values:
            return NodeCheck(False, "attribute", f"{node.op_type} {attr}={v!r}; {rules.path} allows {list(values)}")
    for attr, top in rule.attr_max.items():
        v = node.attrs.get(attr)
        if isinstance(v, (int, float)) and v > top:
            return NodeCheck(False, "attribute", f"{node.op_type} {attr}={v} > {top} on {rules.path}")
    return NodeCheck(True, slow=slow)
