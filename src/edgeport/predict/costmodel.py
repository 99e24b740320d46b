"""The per-node cost model: compute or memory, whichever is slower, plus overheads.

For node n of op class k, placed on a unit with peak ``P`` MAC/s and memory bandwidth ``B``::

    t_n = compute_n + memory_n + overhead_k        on a CPU core
    t_n = max(compute_n, memory_n) + overhead_k    on an accelerator path
    compute_n = work_n / (P · eff_k) + narrow · lost_n / P,   memory_n = bytes_n / (B · mem_eff_k)

A CPU core moves the bytes with the same load/store units and registers its FMAs use, so the two add: the
per-node profiles of 35 networks on ONNX Runtime showed expansion 1×1 convolutions (16→96 channels at
112²) and 512-channel 3×3 ones on 4×4 maps at 0.35-0.4 of the efficiency of mid-sized 3×3 ones, which only a
memory term on top of the compute one follows (the max form, with one efficiency per class, left ResNet-18,
MobileNetV2 and PP-OCR's detector 12-22 % under; leave-one-model-out within ±10 % went 66 → 74 %). An accelerator's DMA
engines move data while its MAC arrays compute, so there the slower of the two is what costs.

where ``work`` is MACs for convolutions and matrix products and FLOPs for every other class
(``analysis.profile`` counts both) and ``bytes`` is what the node reads and writes (activations and
constants). ``lost`` is the work a convolution's SIMD channel tiles leave empty: CPU kernels (MLAS,
XNNPACK, oneDNN) compute a tile of channels at a time (``channel_tile``), so a convolution with fewer
channels than the tile pays for the whole tile, on the output side and (except for three-channel image
stems, which get a direct kernel) on the input side too; one fitted ``narrow`` term says how much of
that empty work costs time.

A model's latency is ``invoke + io · io_bytes / B + Σ t_n + boundaries``: ``invoke`` is the runtime path's
per-inference cost (so no estimate is ever below it), ``io`` the passes over the model's input and output
tensors one inference makes outside its kernels (binding and copying them: OpenVINO's ``infer()`` from
Python spent 35-55 µs per MB of them on a Zen3 core, 260 µs of a 425 µs elementwise net whose one fused
kernel took 160 µs; ONNX Runtime about 7 µs per MB), and ``boundaries`` the hand-over cost of each
partition when a model is split between units (``analysis.compat``).

A node's bytes beyond what one core's own cache holds (``memory.cache_bytes``: its L2, read from sysfs on the host)
cost ``far`` more seconds per second at bandwidth (``far_s``): per-node ONNX Runtime profiles moved elementwise and
data-movement tensors at ~20 GB/s up to a few MB and ~12.6 GB/s beyond 16 MB, so one bandwidth per class left every
model with big feature maps under (PP-OCR's detector, the layout model, 112² family nets) and small ones over. On the
predictor suite's measurements (one Xeon VM, L2 1.25 MB, 1 thread) the term took leave-one-model-out within ±10 % /
±20 % from 31/60 % to 49/71 % on ONNX Runtime (latencies and kernel times), 23/49 % to 29/49 % on OpenVINO and
34/56 % to 29/61 % on LiteRT; a threshold at 2.5 MB or all of a node's bytes once over 1.25 MB did worse.

The parameters are kept as reciprocals (``1/eff``, ``1/mem_eff``) and seconds, so that once each node
is known to be compute- or memory-bound the latency is *linear* in them: that is what lets
``predict.fit`` fit them by non-negative least squares.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from edgeport.analysis.canonical import compute_dtype
from edgeport.core.target import OP_CLASSES, PredictorPrior, Target
from edgeport.core.formats import Format
from edgeport.graph.ir import Graph, Node
from edgeport.predict.opclass import MAC_CLASSES, op_class

__all__ = ["CHANNEL_TILE_VECTORS", "COST_MODEL", "MIN_ATTRIBUTED", "CostParams", "ModelFeatures", "NodeFeatures", "branches",
           "channel_tile", "class_shares", "design_row", "executed", "features", "fp32_lanes", "fuses_pointwise", "kernel_times",
           "node_row",
           "per_class_seconds", "swish_pairs", "tile_loss",
           "precision_of", "predict_seconds"]

# The version of the equations below; a stored fit of another version is not used (``predict.calibration``).
# 2: memory adds to compute on a CPU, a strided_softmax class, x·sigmoid(x) one node. 3: a far-memory term.
COST_MODEL = 3

_ITEMSIZE = {"float32": 4, "float16": 2, "bfloat16": 2, "float64": 8, "int8": 1, "uint8": 1, "int16": 2,
             "uint16": 2, "int32": 4, "uint32": 4, "int64": 8, "uint64": 8, "bool": 1}


@dataclass(frozen=True)
class NodeFeatures:
    op_class: str
    compute_s: float  # work / peak: seconds at 100 % of the unit's peak
    memory_s: float  # bytes / bandwidth: seconds at 100 % of the bandwidth
    lost_s: float = 0.0  # work the SIMD channel tiles leave empty / peak (convolutions on a CPU)
    far_s: float = 0.0  # the bytes beyond what one core's cache holds (``memory.cache_bytes``) / bandwidth
    overlap: bool = False  # memory traffic hides under compute (an accelerator's DMA): max(); False: they add (CPU)


@dataclass
class ModelFeatures:
    """What the cost model needs of one model on one target: a row per node, plus its partition cost."""

    nodes: list[NodeFeatures]
    boundary_s: float = 0.0
    precision: str = "fp32"
    io_s: float = 0.0  # the model's input and output bytes / bandwidth

    def classes(self) -> set[str]:
        return {n.op_class for n in self.nodes}


@dataclass
class CostParams:
    """The cost model's terms (see the module docstring); every one is ≥ 0."""

    inv_eff: dict[str, float]  # 1 / fraction of peak, per op class
    inv_mem: dict[str, float]  # 1 / fraction of bandwidth, per op class
    overhead_s: dict[str, float]  # per node, per op class
    invoke_s: float  # per inference: the floor
    narrow: float = 0.0  # seconds per second of empty channel-tile work (``lost_s``); 0 in fits made before it
    io: float = 0.0  # seconds per second of the model's input and output traffic (``io_s``)
    far: float = 0.0  # seconds per second of a node's traffic beyond the cache (``far_s``); 0 in fits made before it

    @classmethod
    def from_prior(cls, prior: PredictorPrior, precision: str = "fp32") -> CostParams:
        """The prior's terms for a model computing in ``precision`` (int8: the MAC classes at
        ``int8_efficiency`` of their efficiency)."""
        scale = {k: prior.int8_efficiency if precision == "int8" and k in MAC_CLASSES else 1.0 for k in OP_CLASSES}
        return cls(inv_eff={k: 1.0 / (prior.efficiency[k] * scale[k]) for k in OP_CLASSES},
                   inv_mem={k: 1.0 / prior.memory_efficiency for k in OP_CLASSES},
                   overhead_s={k: prior.op_overhead_us[k] * 1e-6 for k in OP_CLASSES},
                   invoke_s=prior.invoke_floor_us * 1e-6, narrow=prior.narrow_penalty, io=prior.io_copy,
                   far=prior.far_memory)

    # the fit's parameter vector: [inv_eff..., inv_mem..., overhead..., invoke, narrow, io, far]
    def vector(self) -> np.ndarray:
        return np.array([*(self.inv_eff[k] for k in OP_CLASSES), *(self.inv_mem[k] for k in OP_CLASSES),
                         *(self.overhead_s[k] for k in OP_CLASSES), self.invoke_s, self.narrow, self.io, self.far])

    @classmethod
    def from_json(cls, p: dict[str, Any]) -> CostParams:
        return cls(dict(p["inv_eff"]), dict(p["inv_mem"]), dict(p["overhead_s"]), float(p["invoke_s"]),
                   float(p.get("narrow", 0.0)), float(p.get("io", 0.0)), float(p.get("far", 0.0)))

    @classmethod
    def from_vector(cls, v: Sequence[float]) -> CostParams:
        n = len(OP_CLASSES)
        return cls(inv_eff=dict(zip(OP_CLASSES, map(float, v[:n]))),
                   inv_mem=dict(zip(OP_CLASSES, map(float, v[n:2 * n]))),
                   overhead_s=dict(zip(OP_CLASSES, map(float, v[2 * n:3 * n]))), invoke_s=float(v[3 * n]),
                   narrow=float(v[3 * n + 1]), io=float(v[3 * n + 2]), far=float(v[3 * n + 3]))


def _tensor_bytes(graph: Graph, name: str) -> int:
    t = graph.tensor(name)
    if t is None:
        return 0
    if t.is_constant:
        return int(t.nbytes or 0)
    if t.shape is None:
        return 0
    n = int(np.prod([d if isinstance(d, int) and d > 0 else 1 for d in t.shape]))
    return n * _ITEMSIZE.get(t.dtype or "float32", 4)


def precision_of(graph: Graph) -> str:
    """The precision the model's heavy ops compute in: int8, fp16 or fp32 (the calibration key)."""
    dtypes = {compute_dtype(graph, n) for n in graph.nodes if op_class(graph, n) in MAC_CLASSES}
    if dtypes & {"int8", "uint8"}:
        return "int8"
    if dtypes & {"float16", "bfloat16"}:
        return "fp16"
    return "fp32"


CHANNEL_TILE_VECTORS = 2  # vector registers of output channels a CPU convolution kernel computes at once (Arm)
X86_CHANNEL_TILE = 32  # channels an x86 convolution kernel computes at once, AVX2 and AVX-512 alike
STEM_CHANNELS = 4  # fewer input channels than this (an RGB stem): a direct kernel, no input-side tile loss


def fp32_lanes(isa: Sequence[str]) -> int:
    """fp32 lanes of one SIMD register on a CPU with these ISA flags (16 AVX-512, 8 AVX, 4 SSE/NEON)."""
    flags = set(isa)
    return 16 if "avx512f" in flags else 8 if flags & {"avx", "avx2"} else 4


def channel_tile(isa: Sequence[str]) -> int:
    """Channels a CPU convolution kernel computes at once. x86: 32, measured per node on ONNX Runtime on a Zen3
    AVX2 core and a Zen5 AVX-512 one alike (8- and 16-channel convolutions at 0.25 and 0.46 of the efficiency
    32-channel and wider ones reach; MLAS's NCHWc kernels take four 8-wide filter blocks on AVX2). Elsewhere
    ``CHANNEL_TILE_VECTORS`` registers (NEON: 8 channels; not measured)."""
    flags = set(isa)
    if flags & {"avx", "avx2", "avx512f"}:
        return X86_CHANNEL_TILE
    return CHANNEL_TILE_VECTORS * fp32_lanes(isa)


def tile_loss(graph: Graph, node: Node, cls: str, tile: int) -> float:
    """The fraction of ``node``'s work its channel tiles add empty: ``tile/min(C, tile) − 1`` for the output
    channels, and for the input channels of a dense convolution with at least ``STEM_CHANNELS`` of them."""
    if cls not in ("conv", "depthwise_conv") or len(node.inputs) < 2:
        return 0.0
    w = graph.tensor(node.inputs[1])
    if w is None or w.shape is None or len(w.shape) < 3 or not all(isinstance(d, int) and d > 0 for d in w.shape):
        return 0.0
    c_out, c_in = int(w.shape[0]), int(w.shape[1])
    if graph.format is not Format.ONNX:  # TFLite: OHWI for convolutions, 1HWO for depthwise ones
        c_out, c_in = (int(w.shape[-1]), 1) if cls == "depthwise_conv" else (int(w.shape[0]), int(w.shape[-1]))
    loss = tile / min(c_out, tile) - 1
    if cls == "conv" and c_in >= STEM_CHANNELS:
        loss += tile / min(c_in, tile) - 1
    return loss


_FOLDED = ("constant", "identity", "shape")  # never executed: folded when the runtime loads the model
_FUSABLE = ("batch_norm", "relu", "relu6", "clip", "leaky_relu", "hard_swish", "hard_sigmoid")
_FUSE_INTO = MAC_CLASSES
# one value in, one out, element by element: what a runtime that fuses pointwise chains runs in one kernel
_POINTWISE = frozenset({"add", "sub", "mul", "div", "pow", "sqrt", "rsqrt", "abs", "neg", "floor", "minimum",
                        "maximum", "squared_difference", "batch_norm", "relu", "relu6", "clip", "leaky_relu", "prelu",
                        "hard_swish", "hard_sigmoid", "exp", "log", "elu", "sigmoid", "tanh", "gelu", "erf"})
_POINTWISE_INTO = frozenset({*MAC_CLASSES, "elementwise", "activation", "transcendental"})


def swish_pairs(graph: Graph) -> dict[int, int]:
    """Sigmoid node index → the index of the Mul that multiplies its input by it (``x · sigmoid(x)``: SiLU).

    ONNX Runtime (its QuickGelu fusion) and OpenVINO (its Swish) run that pair as one kernel, a sigmoid pass with
    the product folded in, and other runtimes are taken to as well: the pair is costed as one transcendental node
    at the Mul and the Sigmoid runs no kernel of its own (ddddocr's detector has 77; costed as two passes each they
    came to 14 ms of a 75 ms model whose profile spends 3 ms in them)."""
    from edgeport.analysis.canonical import canonical_op

    consumers = graph.consumers
    index = {id(n): i for i, n in enumerate(graph.nodes)}
    leaves = set(graph.outputs)
    out: dict[int, int] = {}
    for i, node in enumerate(graph.nodes):
        if canonical_op(graph, node) != "sigmoid" or not node.inputs or not node.outputs:
            continue
        x, y = node.inputs[0], node.outputs[0]
        users = consumers.get(y, [])
        if y not in leaves and len(users) == 1 and canonical_op(graph, users[0]) == "mul" and sorted(users[0].inputs) == sorted([x, y]):
            out[i] = index[id(users[0])]
    return out


def executed(graph: Graph, *, pointwise_chains: bool = False) -> list[bool]:
    """Per node: does a runtime execute it as a kernel of its own?

    Every runtime edgeport measures folds constant subgraphs when it loads a model (Constant, Identity,
    Shape and any node whose inputs are all constants), fuses a batch norm or a clamp-like activation
    into the convolution or matrix product that alone feeds it (ONNX Runtime's Conv+activation fusion,
    OpenVINO's, TFLite's fused activations), and runs ``x · sigmoid(x)`` as one kernel (``swish_pairs``: the
    Sigmoid does not run alone). Counting those as nodes charged a per-op overhead hundreds
    of times on exported graphs full of Constant nodes. With ``pointwise_chains`` (a runtime whose
    ``Runtime.fuses_pointwise`` is set: OpenVINO's eltwise fusion) every pointwise node fed by a kernel
    whose output it alone reads joins that kernel too, so a chain of them is one pass over the tensor
    (a swish's Mul counts as the one reader of its input with its Sigmoid).
    """
    from edgeport.analysis.canonical import canonical_op

    consumers = graph.consumers
    constant = {t.name for t in graph.constants()}
    swish = swish_pairs(graph)
    swish_x = {m: graph.nodes[sig].inputs[0] for sig, m in swish.items()}  # a swish's Mul → its x
    producer_cls: dict[str, str] = {}
    out: list[bool] = []
    for i, node in enumerate(graph.nodes):
        op = canonical_op(graph, node)
        inputs = [x for x in node.inputs if x]
        if i in swish_x:  # x · sigmoid(x) reads x alone: x's readers are this Mul and its Sigmoid
            inputs = [swish_x[i]]
        readers = len(consumers.get(inputs[0], [])) - (i in swish_x) if inputs else 0
        runs = True
        if op in _FOLDED or (inputs and all(x in constant for x in inputs)):
            constant.update(x for x in node.outputs if x)
            runs = False
        elif i in swish:
            runs = False
        elif inputs and readers == 1 and (
                (op in _FUSABLE and producer_cls.get(inputs[0]) in _FUSE_INTO)
                or (pointwise_chains and (op in _POINTWISE or i in swish_x)
                    and producer_cls.get(inputs[0]) in _POINTWISE_INTO)):
            runs = False
            for x in node.outputs:  # a chain conv → bn → relu fuses whole
                producer_cls[x] = producer_cls[inputs[0]]
        if runs:
            cls = "transcendental" if i in swish_x else op_class(graph, node)
            for x in node.outputs:
                producer_cls[x] = cls
        out.append(runs)
    return out


def fuses_pointwise(runtime: str | None) -> bool:
    """Does the named runtime run chains of pointwise ops as one kernel (``Runtime.fuses_pointwise``)?"""
    from edgeport.runtimes.base import RUNTIMES

    return bool(runtime) and runtime in RUNTIMES.names() and RUNTIMES.get(runtime).fuses_pointwise


def features(graph: Graph, target: Target, paths: Sequence[str] | None = None, *,
             boundary_s: float = 0.0, runtime: str | None = None) -> ModelFeatures:
    """Cost-model rows of ``graph`` on ``target``, node ``i`` on execution path ``paths[i]`` (default CPU);
    nodes ``runtime`` (default: any) does not execute on their own (``executed``) get no row."""
    from edgeport.analysis.profile import profile_graph
    from edgeport.analysis.rules import get_rules

    prof = profile_graph(graph)
    bandwidth = (target.memory.bandwidth_gbs or 1.0) * 1e9
    fallback_peak = target.peak_macs("float32") or 1e9
    tile = channel_tile(target.cpu.isa)
    cache = target.memory.cache_bytes or 0
    rows = []
    runs_alone = executed(graph, pointwise_chains=fuses_pointwise(runtime))
    swish_x = {m: sig for sig, m in swish_pairs(graph).items()}  # a swish's Mul → its Sigmoid
    for i, (node, p, runs) in enumerate(zip(graph.nodes, prof.nodes, runs_alone)):
        if not runs:
            continue
        path = paths[i] if paths is not None else "cpu"
        cls = "transcendental" if i in swish_x else op_class(graph, node)
        dtype = compute_dtype(graph, node) or "float32"
        if path not in ("cpu", "none"):
            dtype = get_rules(path).compute_dtype or dtype
        peak = target.peak_macs(dtype, path if path != "none" else "cpu") or fallback_peak
        work = p.macs if cls in MAC_CLASSES else max(p.flops - 2 * p.macs, 0)
        reads = [x for x in node.inputs if x]
        if i in swish_x:  # x · sigmoid(x): the sigmoid's work too, and x read once
            work += prof.nodes[swish_x[i]].flops
            reads = [graph.nodes[swish_x[i]].inputs[0]]
        moved = sum(_tensor_bytes(graph, x) for x in reads) + sum(_tensor_bytes(graph, x) for x in node.outputs if x)
        cpu = path in ("cpu", "none")
        lost = tile_loss(graph, node, cls, tile) if cpu else 0.0  # accelerators: not modelled
        far = max(moved - cache, 0) if cache else 0
        rows.append(NodeFeatures(cls, work / peak, moved / bandwidth, work * lost / peak, far / bandwidth, overlap=not cpu))
    io = sum(_tensor_bytes(graph, x) for x in graph.inputs if not _is_constant(graph, x)) + \
        sum(_tensor_bytes(graph, x) for x in graph.outputs)
    return ModelFeatures(rows, boundary_s, precision_of(graph), io_s=io / bandwidth)


def _is_constant(graph: Graph, name: str) -> bool:
    t = graph.tensor(name)
    return t is not None and t.is_constant


def branches(feat: ModelFeatures, params: CostParams) -> list[bool]:
    """Per node: True where compute, False where memory traffic, is the slower term under ``params`` (what
    a node whose two overlap is charged; the others pay both)."""
    return [n.compute_s * params.inv_eff[n.op_class] + n.lost_s * params.narrow
            >= n.memory_s * params.inv_mem[n.op_class] + n.far_s * params.far for n in feat.nodes]


_CLASS_INDEX = {k: i for i, k in enumerate(OP_CLASSES)}  # op class -> its place in each block of the fit's vector
_WIDTH = 3 * len(OP_CLASSES) + 4  # the length of CostParams.vector()


def _add_node(row: np.ndarray, node: NodeFeatures, cb: bool, index: dict[str, int]) -> None:
    n = len(OP_CLASSES)
    k = index[node.op_class]
    if cb or not node.overlap:
        row[k] += node.compute_s
        row[3 * n + 1] += node.lost_s
    if not cb or not node.overlap:
        row[n + k] += node.memory_s
        row[3 * n + 3] += node.far_s
    row[2 * n + k] += 1.0


def design_row(feat: ModelFeatures, compute_bound: Sequence[bool]) -> np.ndarray:
    """The row of the fit's linear system: latency = row · params.vector() + boundary, for these branches."""
    n = len(OP_CLASSES)
    row = np.zeros(_WIDTH)
    for node, cb in zip(feat.nodes, compute_bound):
        _add_node(row, node, cb, _CLASS_INDEX)
    row[3 * n] = 1.0
    row[3 * n + 2] = feat.io_s
    return row


MIN_ATTRIBUTED = 0.9  # profiles tying less of their own kernels' time than this to graph nodes give no kernel times


def kernel_times(ops: Any, graph: Graph) -> dict[int, float] | None:
    """Seconds per run of each kernel in ``ops`` (a ``bench.ops.OpBreakdown`` tied to ``graph``), keyed by the
    position of the node it ran for among ``features(graph, …).nodes`` (the nodes that run on their own).

    A kernel named after a node no runtime runs on its own (``executed``: a fused activation, as ONNX Runtime
    names a Conv+ReLU after the ReLU) counts for the node it was fused into. Kernels the runtime added (layout
    reorders) and names tied to no node are left out: their time is the runtime's, like the work between kernels.
    None when under ``MIN_ATTRIBUTED`` of the time of the kernels the runtime did not add is tied to nodes (the
    runtime ran a conversion whose names are not ``graph``'s)."""
    runs = executed(graph, pointwise_chains=fuses_pointwise(ops.runtime))
    position = {i: k for k, i in enumerate(i for i, r in enumerate(runs) if r)}
    by_name = {n.name: i for i, n in enumerate(graph.nodes) if n.name}
    producers = graph.producers
    out: dict[int, float] = {}
    for row in ops.rows:
        if row.node is None or row.node not in by_name:
            continue
        i = by_name[row.node]
        for _ in range(len(graph.nodes)):  # walk a fused chain back to the kernel it joined
            if runs[i]:
                break
            up = producers.get(next((x for x in graph.nodes[i].inputs if x), ""))
            if up is None or up.name not in by_name:
                break
            i = by_name[up.name]
        if i in position:
            out[position[i]] = out.get(position[i], 0.0) + row.us * 1e-6
    attributed = sum(out.values()) * 1e6
    own = sum(r.us for r in ops.rows if not r.inserted)
    if not own or attributed < MIN_ATTRIBUTED * own:
        return None
    return out


def class_shares(kernels: dict[int, float], feat: ModelFeatures) -> dict[str, float]:
    """Each op class's share of the time of ``kernels`` (``kernel_times`` of the graph ``feat`` describes)."""
    totals: dict[str, float] = {}
    for k, s in kernels.items():
        cls = feat.nodes[k].op_class
        totals[cls] = totals.get(cls, 0.0) + s
    whole = sum(totals.values())
    return {k: v / whole for k, v in totals.items()} if whole else {}


def node_row(node: NodeFeatures, compute_bound: bool) -> np.ndarray:
    """The fit's row for one node on its own: its time = row · params.vector()."""
    row = np.zeros(_WIDTH)
    _add_node(row, node, compute_bound, _CLASS_INDEX)
    return row


def predict_seconds(feat: ModelFeatures, params: CostParams) -> float:
    """Latency of one inference under ``params`` (never below the per-invoke floor)."""
    return float(design_row(feat, branches(feat, params)) @ params.vector()) + feat.boundary_s


def per_class_seconds(feat: ModelFeatures, params: CostParams) -> dict[str, float]:
    """Where the time goes: seconds per op class (the invoke floor and boundaries left out)."""
    out: dict[str, float] = {}
    for node, cb in zip(feat.nodes, branches(feat, params)):
        k = node.op_class
        compute = node.compute_s * params.inv_eff[k] + node.lost_s * params.narrow
        memory = node.memory_s * params.inv_mem[k] + node.far_s * params.far
        t = (compute if cb else memory) if node.overlap else compute + memory
        out[k] = out.get(k, 0.0) + t + params.overhead_s[k]
    return out
