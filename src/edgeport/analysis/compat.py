"""Will a model run on a target, and where? Nodes → execution paths → partitions → a verdict.

Each node goes to the first of the target's execution paths (``Target.paths``, in order of
preference) whose rule table accepts it, else to the CPU fallback (or nowhere, on a target without
one, such as an MCU whose only runtime is TFLite Micro). Partitions are grouped the way ONNX
Runtime groups nodes for an execution provider (``partitioning_utils.cc``; a topological sweep that
closes a group when no more supported nodes are reachable), so counts compare with ORT's checker.
Each partition's boundary bytes (activations crossing into or out of it) get a transfer cost from
the target's memory bandwidth plus the accelerator's hand-over overhead. Latency is an estimate from
the cost model in ``edgeport.predict`` (compute or memory per node, overheads, the per-invoke floor),
calibrated where a calibration of the target exists, and labelled with its interval either way.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeport.analysis.canonical import canonical_op
from edgeport.analysis.rules import NodeCheck, check_node, get_rules
from edgeport.core.target import Target, get_target
from edgeport.errors import EdgeportError
from edgeport.graph.ir import Graph
from edgeport.graph.load import load_graph

if TYPE_CHECKING:
    from edgeport.predict.calibration import Calibration
    from edgeport.predict.estimate import Estimate

__all__ = ["CompatReport", "Fallback", "NodePlacement", "Partition", "analyze", "partition_groups"]

CPU, NONE = "cpu", "none"


@dataclass
class NodePlacement:
    node: str
    op_type: str
    path: str  # execution path, "cpu" (fallback) or "none" (cannot run)
    slow: bool = False


@dataclass
class Fallback:
    node: str
    op_type: str
    reason: str  # op | custom-op | dtype | dynamic-shape | rank | attribute | constant-input | after-first-unsupported
    detail: str


@dataclass
class Partition:
    path: str
    nodes: int
    boundary_bytes: int
    transfer_ms: float  # estimate: bytes / bandwidth + hand-over overhead


@dataclass
class CompatReport:
    model: str
    target: str
    paths: list[str]
    total_nodes: int
    delegated_nodes: int  # nodes on one of the target's paths
    partitions: int
    per_path: dict[str, int]
    fallbacks: list[Fallback]
    partition_list: list[Partition]
    boundary_bytes: int
    transfer_ms: float
    runs: bool  # False when some node has no path and the target has no CPU fallback
    dynamic_slow_nodes: int
    est_latency_ms: float | None  # the estimate's value (``estimate`` has its interval and label)
    macs: int | None
    verdict: str
    estimate: Estimate | None = None
    placements: list[NodePlacement] = field(default_factory=list)

    @property
    def fallback_reasons(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for f in self.fallbacks:
            out[f.reason] = out.get(f.reason, 0) + 1
        return out


def partition_groups(graph: Graph, member: list[bool]) -> list[list[int]]:
    """Group member nodes like ORT's ``CreateSupportedPartitionNodeGroups`` (indices into ``graph.nodes``)."""
    index = {id(n): i for i, n in enumerate(graph.nodes)}
    producers = graph.producers
    preds: list[set[int]] = []
    succs: list[set[int]] = [set() for _ in graph.nodes]
    for i, n in enumerate(graph.nodes):
        p = {index[id(producers[x])] for x in n.inputs if x and x in producers}
        preds.append(p)
        for j in p:
            succs[j].add(i)
    in_degree = [len(p) for p in preds]
    todo: deque[int] = deque(i for i, d in enumerate(in_degree) if d == 0)
    later: deque[int] = deque()
    groups: list[list[int]] = []
    group: list[int] = []
    border: set[int] = set()
    while todo or later:
        if not todo:
            if group:
                groups.append(group)
            group, border = [], set()
            todo, later = later, deque()
            continue
        i = todo.popleft()
        if not member[i]:
            if i in border:
                later.append(i)
                continue
        else:
            group.append(i)
            border.discard(i)
            border |= succs[i]
        for j in succs[i]:
            in_degree[j] -= 1
            if in_degree[j] == 0:
                todo.append(j)
    if group:
        groups.append(group)
    return groups


def _bytes(graph: Graph, name: str) -> int:
    t = graph.tensor(name)
    if t is None or t.shape is None or t.is_constant:
        return 0
    n = int(np.prod([d if isinstance(d, int) and d > 0 else 1 for d in t.shape]))
    try:
        return n * np.dtype(t.dtype or "float32").itemsize
    except TypeError:
        return n * 4


def _boundary(graph: Graph, group: list[int]) -> int:
    inside = {o for i in group for o in graph.nodes[i].outputs}
    ins = {x for i in group for x in graph.nodes[i].inputs if x and x not in inside}
    consumers = graph.consumers
    outs = {o for o in inside if o in graph.outputs or any(id(c) not in {id(graph.nodes[i]) for i in group}
                                                             for c in consumers.get(o, []))}
    return sum(_bytes(graph, x) for x in ins | outs)


def _macs(graph: Graph) -> list[int] | None:
    try:
        from edgeport.analysis.profile import profile_graph

        prof = profile_graph(graph)
    except EdgeportError:  # a graph the profiler cannot read has no estimate; a profiler bug is raised
        return None
    by_name = {p.name: p.macs for p in prof.nodes}
    return [int(by_name.get(n.name, 0)) for n in graph.nodes]


def _custom_op(node: Any) -> NodeCheck | None:
    """A TFLite custom (or Flex) op has no kernel in any runtime's builtin set: it runs only where the app
    registers one, so it is named as such rather than as an ordinary CPU fallback."""
    if node.domain == "custom":
        return NodeCheck(False, "custom-op", f"{node.op_type} is a TFLite custom op: it runs only where the app "
                                             "registers its kernel with the interpreter")
    if node.domain == "flex":
        return NodeCheck(False, "custom-op", f"{node.op_type} is a TensorFlow (Flex) op: it needs the Select TF ops "
                                             "runtime linked into the app")
    return None


def _estimate(graph: Graph, tgt: Target, placements: list[NodePlacement], transfer_ms: float,
              runtimes: Sequence[str] | None, calibrations: Sequence[Calibration] | None) -> Estimate:
    from edgeport.predict.calibration import load_calibrations
    from edgeport.predict.costmodel import features, precision_of
    from edgeport.predict.estimate import calibration_for, estimate_features

    paths = [p.path for p in placements]
    counts: dict[str, int] = {}
    for p in paths:
        counts[p] = counts.get(p, 0) + 1
    main = max(counts, key=lambda k: counts[k]) if counts else CPU
    cals = load_calibrations() if calibrations is None else calibrations
    # the rows the calibration was fitted on: what its runtime executes (OpenVINO fuses pointwise chains)
    cal = calibration_for(tgt, tuple(runtimes or ()), precision_of(graph), cals)
    feat = features(graph, tgt, paths, boundary_s=transfer_ms / 1e3, runtime=cal.runtime if cal else None)
    return estimate_features(feat, tgt, path=main, runtimes=tuple(runtimes or ()), calibrations=cals)


def analyze(model: Any, target: str | Target, *, paths: list[str] | None = None,
            runtimes: Sequence[str] | None = None, calibrations: Sequence[Calibration] | None = None) -> CompatReport:
    """Place every node of ``model`` on ``target``'s execution paths (or only ``paths``) and estimate its latency.

    The estimate uses the newest calibration of ``target`` for the first of ``runtimes`` (default: the
    profile's runtimes) at the model's precision, from ``calibrations`` (default: the result store's).
    """
    graph = load_graph(model)
    tgt = get_target(target)
    use = list(paths) if paths else list(tgt.paths)
    rules = [get_rules(p) for p in use]
    fallback = CPU if tgt.cpu_fallback else NONE
    blocked: set[str] = set()  # prefix_only paths after their first unsupported node
    placements: list[NodePlacement] = []
    fallbacks: list[Fallback] = []
    for node in graph.nodes:
        chosen: str | None = None
        slow = False
        first_fail: NodeCheck | None = None
        for r in rules:
            if r.path in blocked:
                first_fail = first_fail or NodeCheck(False, "after-first-unsupported",
                                                     f"{r.path} maps only up to the first unsupported op")
                continue
            res = check_node(graph, node, r)
            if res.supported:
                chosen, slow = r.path, res.slow
                break
            first_fail = first_fail or res
            if r.prefix_only:
                blocked.add(r.path)
        if chosen is None:
            chosen = fallback
            fb = _custom_op(node) or first_fail or NodeCheck(False, "op", "no execution path")
            fallbacks.append(Fallback(node.name, node.op_type, fb.reason, fb.detail))
        placements.append(NodePlacement(node.name, node.op_type, chosen, slow))
    per_path: dict[str, int] = {}
    for p in placements:
        per_path[p.path] = per_path.get(p.path, 0) + 1
    parts: list[Partition] = []
    bw = (tgt.memory.bandwidth_gbs or 1.0) * 1e9
    for path in use:
        member = [p.path == path for p in placements]
        if not any(member):
            continue
        acc = tgt.accelerator_for(path)
        for g in partition_groups(graph, member):
            b = _boundary(graph, g)
            overhead = (acc.boundary_overhead_us / 1e3) if acc is not None else 0.0
            parts.append(Partition(path, len(g), b, b / bw * 1e3 + overhead))
    delegated = sum(1 for p in placements if p.path not in (CPU, NONE))
    runs = not any(p.path == NONE for p in placements)
    slow_nodes = sum(1 for p in placements if p.slow)
    macs = _macs(graph)
    transfer = sum(x.transfer_ms for x in parts) if len(parts) > 1 else 0.0  # one partition: no hand-over
    estimate = _estimate(graph, tgt, placements, transfer, runtimes, calibrations) if macs is not None else None
    boundary = sum(p.boundary_bytes for p in parts) if len(parts) > 1 else 0
    transfer_ms = sum(p.transfer_ms for p in parts) if len(parts) > 1 else 0.0
    n = len(graph.nodes)
    verdict = f"{delegated} of {n} nodes delegated ({', '.join(f'{k} {v}' for k, v in per_path.items())}) " \
              f"in {len(parts)} partition{'s' if len(parts) != 1 else ''}"
    if not runs:
        missing = sorted({f.op_type for f in fallbacks})
        verdict += f"; cannot run: {len(fallbacks)} node(s) with no kernel on {tgt.id} ({', '.join(missing[:5])})"
    elif fallbacks:
        verdict += f"; {len(fallbacks)} CPU fallback(s)"
    custom = sorted({f.op_type for f in fallbacks if f.reason == "custom-op"})
    if custom:
        verdict += f"; custom op kernel(s) the app must register: {', '.join(custom)}"
    if slow_nodes:
        verdict += f"; {slow_nodes} node(s) slowed by dynamic shapes"
    return CompatReport(model=graph.name, target=tgt.id, paths=use, total_nodes=n, delegated_nodes=delegated,
                        partitions=len(parts), per_path=per_path, fallbacks=fallbacks, partition_list=parts,
                        boundary_bytes=boundary, transfer_ms=transfer_ms, runs=runs, dynamic_slow_nodes=slow_nodes,
                        est_latency_ms=None if estimate is None else estimate.latency_ms, estimate=estimate, macs=sum(macs) if macs is not None else None, verdict=verdict,
                        placements=placements)


def canonical_ops(model: Any) -> dict[str, int]:
    """Canonical op histogram of a model (what the rule tables see)."""
    graph = load_graph(model)
    out: dict[str, int] = {}
    for node in graph.nodes:
        op = canonical_op(graph, node)
        out[op] = out.get(op, 0) + 1
    return out
