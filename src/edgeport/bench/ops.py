"""Where the time goes inside one model: each kernel timed by the runtime's own profiler, tied to graph nodes.

A runtime names a kernel after a node of the model it ran, with what it did appended (ONNX Runtime's
``relu4_nchwc`` is ``conv3`` with its ReLU fused, in the NCHWc layout, named after the ReLU; its
``fused gemm3`` is ``gemm3`` with its activation; OpenVINO's ``conv3/WithoutBiases`` is ``conv3``), or adds
kernels of its own (layout reorders). ``graph_node_for`` finds the node a kernel is named after; kernels the
runtime added (``OpTime.inserted``) belong to no node.

The profiled runs are separate from the timed ones (``Runtime.time_ops``): a profiler slows every kernel a
little, so the shares and the ranking are what it is for; the latency is the benchmark's.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from edgeport.core.artifact import Artifact
from edgeport.graph.ir import Graph
from edgeport.runtimes.base import OpTiming

__all__ = ["PROFILE_RUNS", "OpBreakdown", "OpRow", "breakdown", "graph_node_for", "graph_of"]

PROFILE_RUNS = 50  # profiled runs per model (after the runtime's warm-up runs)


@dataclass(frozen=True)
class OpRow:
    name: str  # the runtime's kernel name
    kind: str  # the kernel type the runtime reports
    us: float  # µs per run under the profiler (``OpTime.us``)
    share: float  # of all kernels' time
    node: str | None  # the graph node it is named after; None: a kernel the runtime added, or a name not found
    inserted: bool = False  # a kernel the runtime added (a layout reorder, a copy)


@dataclass
class OpBreakdown:
    """One model's kernels on one runtime, in the order they ran."""

    runtime: str
    profiler: str
    runs: int
    run_us: float  # median whole profiled run: the kernels plus the runtime's own work between them
    rows: list[OpRow] = field(default_factory=list)
    kind: str = "ops"

    @property
    def kernels_us(self) -> float:
        return sum(r.us for r in self.rows)

    def top(self, n: int) -> list[OpRow]:
        """The ``n`` slowest kernels, slowest first."""
        return sorted(self.rows, key=lambda r: -r.us)[:n]

    def by_kind(self) -> dict[str, float]:
        """µs per kernel type, the dearest first."""
        out: dict[str, float] = {}
        for r in self.rows:
            out[r.kind] = out.get(r.kind, 0.0) + r.us
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def graph_node_for(name: str, nodes: Mapping[str, str] | Iterable[str]) -> str | None:
    """The graph node a kernel named ``name`` is named after: ``name`` itself, else its longest prefix that ends
    before a ``/`` or ``_``; a leading word the runtime put before it (ONNX Runtime's ``fused gemm3``) is dropped
    first. ``nodes`` maps each name a kernel may carry to its node (node names, and the names of the tensors
    they write: ONNX Runtime's NCHWc kernels and OpenVINO's are named after output tensors in exports whose
    node names differ, such as PaddlePaddle's); a plain collection is node names. None when no prefix matches."""
    names = nodes if isinstance(nodes, Mapping) else {n: n for n in nodes}
    for candidate in dict.fromkeys((name, name.split(" ", 1)[-1])):
        if candidate in names:
            return names[candidate]
        for i in range(len(candidate) - 1, 0, -1):
            if candidate[i] in "/_" and candidate[:i] in names:
                return names[candidate[:i]]
    return None


def breakdown(timing: OpTiming, runtime: str, graph: Graph | None = None) -> OpBreakdown:
    """``timing`` as rows with shares, each tied to the node of ``graph`` it is named after (when given)."""
    names: dict[str, str] = {}
    for n in graph.nodes if graph is not None else ():
        if n.name:
            names.update({out: n.name for out in n.outputs if out})
    for n in graph.nodes if graph is not None else ():
        if n.name:
            names[n.name] = n.name  # a node's own name wins over a tensor of the same name
    total = timing.kernels_us or 1.0
    rows = [OpRow(op.name, op.kind, op.us, op.us / total,
                  None if op.inserted or not names else graph_node_for(op.name, names), op.inserted)
            for op in timing.ops]
    return OpBreakdown(runtime, timing.profiler, timing.runs, timing.run_us, rows)


def graph_of(artifact: Artifact) -> Graph | None:
    """The graph kernels are tied to: the artifact's own, where edgeport reads its format (None elsewhere)."""
    from edgeport.errors import EdgeportError
    from edgeport.graph.load import load_graph

    try:
        return load_graph(artifact)
    except EdgeportError:  # a format edgeport has no graph reader for: the kernels keep their runtime names
        return None
