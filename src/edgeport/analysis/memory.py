"""Microcontroller fit: tensor lifetimes, a TFLite-Micro-style arena plan, runtime overhead and flash.

Arena = *head* (activations, planned) + *tail* (the interpreter's persistent structures):

* **head** — TFLite Micro's ``GreedyMemoryPlanner``: buffers sorted by size (largest first), each
  placed at the lowest 16-byte-aligned offset that does not overlap a placed buffer alive at the
  same time (first-fit decreasing). Lifetimes run from the producing node to the last consumer in
  execution order; graph inputs from 0, graph outputs to the end. Kernel scratch buffers (MEAN)
  live for their node. The head also has to hold the temporaries of ``AllocateTensors``:
  TfLiteTensor copies while a kernel prepares, and the planner's own bookkeeping.
  ``lower_bound`` = the most bytes alive at one step (no planner can do better).
* **tail** — estimated from TFLite Micro's allocation records: a fixed part, per tensor
  (``TfLiteEvalTensor``, 24 B), per node (``NodeAndRegistration``, 64 B), per graph input/output
  (a persistent ``TfLiteTensor`` + quantisation, 96 B) and per op kernel (``_TFLM_OP_TAIL``: its
  OpData, builtin options and per-channel quantisation arrays, 8 B per output channel).

The constants were read off ``RecordingMicroAllocator`` on single-op int8 models (tflite-micro's
Python interpreter, reference kernels); tests bisect the real interpreter's minimum arena on
whole models and check the estimate is within 5 %. CMSIS-NN builds request extra scratch for
convolutions that the reference kernels do not; the estimate does not include it.

Measured against tflite-micro's minimum arena (bisection, int8, reference kernels): single-op models
of CONV_2D, DEPTHWISE_CONV_2D, ADD, MUL, CONCATENATION, MAX/AVERAGE_POOL_2D, PAD, STRIDED_SLICE,
RESHAPE, SOFTMAX, MEAN, RELU, LOGISTIC, TANH, TRANSPOSE: exact (0 to +4 B); whole nets: digits CNN
+0.4 %, depthwise/residual net +0.4 %, 3-layer MLP +2.2 %. Known gap: a model that is a lone
FULLY_CONNECTED (activations of a few bytes) needs more head space while the kernel prepares than
modelled (-5 % at 10 outputs, -10 % at 40); once activations dominate the head, the gap vanishes.

In-place ops (Reshape/Squeeze/Flatten aliases) are an option: TFLite Micro copies (measured: a
reshape model's head holds both buffers), ONNX Runtime and TFLite alias them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from edgeport.analysis.canonical import canonical_op, dynamic_axes
from edgeport.errors import EdgeportError
from edgeport.graph.ir import Graph
from edgeport.graph.load import load_graph

if TYPE_CHECKING:
    from edgeport.predict.estimate import Estimate

__all__ = ["ArenaPlan", "FitResult", "MemoryEstimate", "TensorLifetime", "estimate_memory", "fit", "lifetimes",
           "plan_arena"]

ALIGN = 16
_BASE_TAIL = 512  # interpreter, allocator, planner and subgraph structures (measured)
_PER_TENSOR = 24  # TfLiteEvalTensor
_PER_NODE = 64  # NodeAndRegistration
_PER_IO = 96  # persistent TfLiteTensor (64) + quantisation params (32) per graph input/output
_PER_CHANNEL = 8  # int32 multiplier + int32 shift per output channel (per-channel quantised kernels)
# canonical op -> (fixed tail bytes, per-output-channel?)  [measured on tflite-micro's reference kernels]
_TFLM_OP_TAIL: dict[str, tuple[int, bool]] = {
    "conv": (120, True), "depthwise_conv": (120, True), "fully_connected": (120, True),
    "max_pool": (80, False), "avg_pool": (80, False), "mean": (72, False), "add": (80, False),
    "sub": (80, False), "mul": (48, False), "concat": (96, False), "softmax": (96, False), "pad": (64, False),
    "slice": (120, False), "reshape": (40, False), "pack": (8, False), "relu": (40, False),
    "relu6": (40, False), "sigmoid": (24, False), "tanh": (24, False), "transpose": (0, False),
    "quantize": (48, False), "dequantize": (48, False), "shape": (4, False), "leaky_relu": (48, False),
    "hard_swish": (64, False), "resize": (24, False), "matmul": (120, False),
}
_DEFAULT_OP_TAIL = 64  # ops not measured: estimate
_INPLACE = {"reshape", "identity"}
# flash: runtime code per op kernel (KB), estimates of TFLite Micro reference/CMSIS-NN object sizes
# on Cortex-M (arm-none-eabi-gcc -Os); the interpreter core (allocator, flatbuffer parser) ~30 KB.
_CODE_CORE_KB = 30.0
_CODE_KB: dict[str, float] = {
    "conv": 8.0, "depthwise_conv": 10.0, "fully_connected": 4.0, "max_pool": 3.0, "avg_pool": 3.0,
    "mean": 4.0, "add": 3.0, "sub": 3.0, "mul": 2.5, "softmax": 3.0, "reshape": 0.5, "concat": 1.5,
    "pad": 1.5, "slice": 2.0, "quantize": 2.0, "dequantize": 1.5, "relu": 1.0, "relu6": 1.0,
    "sigmoid": 2.0, "tanh": 2.0, "transpose": 1.5, "resize": 3.0, "hard_swish": 2.0, "matmul": 4.0,
    "pack": 1.0, "shape": 0.5, "leaky_relu": 1.5, "lstm": 12.0,
}
_DEFAULT_CODE_KB = 3.0


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


@dataclass
class TensorLifetime:
    name: str
    nbytes: int
    first: int  # index of the producing node (0 for graph inputs)
    last: int  # index of the last consuming node
    alias_of: str | None = None  # in-place: shares the buffer of this tensor
    offset: int = -1


@dataclass
class ArenaPlan:
    activation_bytes: int  # size of the planned region (greedy, first-fit decreasing)
    lower_bound: int  # max over steps of live bytes
    peak_step: int
    buffers: list[TensorLifetime]


@dataclass
class MemoryEstimate:
    model: str
    format: str
    activation_bytes: int  # planned activations (head)
    lower_bound: int
    prepare_temp_bytes: int  # head space AllocateTensors needs temporarily
    runtime_overhead_bytes: int  # estimated interpreter structures (tail)
    arena_bytes: int  # the tensor arena to reserve
    weight_bytes: int
    code_bytes: int  # estimated runtime code for the op set
    flash_bytes: int  # weights + code
    peak_step: int
    peak_tensors: list[str]
    dynamic_dims: list[str]  # "input:axis" of graph inputs, assumed 1
    op_counts: dict[str, int] = field(default_factory=dict)
    unmeasured_ops: list[str] = field(default_factory=list)  # ops whose tail/code is a default estimate
    notes: list[str] = field(default_factory=list)


def _nbytes(graph: Graph, name: str, dynamic: list[str]) -> int:
    t = graph.tensor(name)
    if t is None or t.shape is None:
        return 0
    dynamic.extend(f"{name}:{i}" for i in dynamic_axes(graph, name))
    n = 1
    for d in t.shape:
        n *= d if isinstance(d, int) and d > 0 else 1
    return n * (np.dtype(t.dtype).itemsize if t.dtype and t.dtype not in ("string", "resource", "variant") else 4)


def lifetimes(graph: Graph, *, inplace: bool = False, dynamic: list[str] | None = None) -> list[TensorLifetime]:
    """Activation buffers with [first, last] node indices in execution order (constants excluded)."""
    dyn = dynamic if dynamic is not None else []
    last_index = max(len(graph.nodes) - 1, 0)
    out: dict[str, TensorLifetime] = {}
    for name in graph.inputs:
        t = graph.tensor(name)
        if t is not None and not t.is_constant:
            out[name] = TensorLifetime(name, _nbytes(graph, name, dyn), 0, 0)
    for i, node in enumerate(graph.nodes):
        for name in node.inputs:
            if name in out:
                out[name].last = max(out[name].last, i)
        for name in node.outputs:
            t = graph.tensor(name)
            if not name or (t is not None and t.is_constant):
                continue
            out[name] = TensorLifetime(name, _nbytes(graph, name, dyn), i, i)
            if inplace and canonical_op(graph, node) in _INPLACE and node.inputs and node.inputs[0] in out:
                src = out[node.inputs[0]]
                out[name].alias_of = src.alias_of or src.name
    for name in graph.outputs:
        if name in out:
            out[name].last = last_index
    # an aliased buffer lives as long as any of its aliases
    for lt in out.values():
        if lt.alias_of:
            root = out[lt.alias_of]
            root.first, root.last = min(root.first, lt.first), max(root.last, lt.last)
            root.nbytes = max(root.nbytes, lt.nbytes)
    return list(out.values())


def _scratch(graph: Graph) -> list[TensorLifetime]:
    """Kernel scratch buffers the reference TFLite Micro kernels request (live during their node)."""
    out = []
    for i, node in enumerate(graph.nodes):
        if canonical_op(graph, node) == "mean" and graph.format.value == "tflite":
            t = graph.tensor(node.outputs[0]) if node.outputs else None
            n = t.numel if t is not None and t.numel else 1
            for j, size in enumerate((16, 16, 4 * n)):  # temp index, resolved axes, int32 sums
                out.append(TensorLifetime(f"{node.name}/scratch{j}", size, i, i))
    return out


def plan_arena(buffers: list[TensorLifetime], overlaps: dict[tuple[str, str], int] | None = None) -> ArenaPlan:
    """Greedy by size, first fit (TFLite Micro's GreedyMemoryPlanner), plus the live-bytes lower bound.

    ``overlaps`` (a static plan's freedom, not TFLite Micro's): ``(input, output) -> gap`` lets the buffer
    ``output`` overlap the buffer ``input`` it is computed from, provided it starts at least ``gap`` bytes below
    it — the kernel writes its output in address order and never over input bytes it has yet to read."""
    gaps = overlaps or {}
    roots = [b for b in buffers if b.alias_of is None]
    if gaps:  # size order or execution order, whichever packs tighter
        plans = [_place(sorted(roots, key=key), gaps) for key in
                 (lambda b: (-_align(b.nbytes), b.first), lambda b: (b.first, -_align(b.nbytes)))]
        offsets = min(plans, key=lambda plan: max((plan[b.name] + _align(b.nbytes) for b in roots), default=0))
    else:
        offsets = _place(sorted(roots, key=lambda b: (-_align(b.nbytes), b.first)), gaps)
    for b in roots:
        b.offset = offsets[b.name]
    high = max((b.offset + _align(b.nbytes) for b in roots), default=0)
    by_name = {b.name: b for b in buffers}
    for b in buffers:
        if b.alias_of:
            b.offset = by_name[b.alias_of].offset
    steps = max((b.last for b in roots), default=0) + 1
    live_bytes = [sum(_align(b.nbytes) for b in roots if b.first <= s <= b.last) for s in range(steps)]
    peak_step = int(np.argmax(live_bytes)) if live_bytes else 0
    return ArenaPlan(high, max(live_bytes, default=0), peak_step, buffers)


def _valid(offset: int, banned: list[tuple[int, int]]) -> bool:
    return not any(lo < offset < hi for lo, hi in banned)


def _first_fit(banned: list[tuple[int, int]]) -> int:
    """The lowest aligned offset from 0 that no interval bans."""
    offset, moved = 0, True
    while moved:
        moved = False
        for lo, hi in banned:
            if lo < offset < hi:
                offset, moved = _align(hi), True
    return offset


def _tightest_fit(banned: list[tuple[int, int]], size: int, placed: list[tuple[TensorLifetime, int]]) -> int:
    """The allowed aligned offset (negative ones too: a chain of outputs written over their inputs grows down)
    that widens the plan's span least."""
    low = min((at for _, at in placed), default=0)
    high = max((at + _align(p.nbytes) for p, at in placed), default=0)
    candidates = {0, *(_align(hi) for _, hi in banned), *(lo // ALIGN * ALIGN for lo, _ in banned)}
    return min((c for c in candidates if _valid(c, banned)),
               key=lambda c: (max(high, c + size) - min(low, c), abs(c)))


def _place(order: list[TensorLifetime], gaps: dict[tuple[str, str], int]) -> dict[str, int]:
    """Offsets (name -> offset, the lowest 0) for ``order``'s buffers placed one by one."""
    offsets: dict[str, int] = {}
    placed: list[tuple[TensorLifetime, int]] = []
    for buf in order:
        size = _align(buf.nbytes)
        banned: list[tuple[int, int]] = []  # open intervals of offsets buf cannot take
        for p, at in placed:
            if not (p.first <= buf.last and buf.first <= p.last):
                continue
            p_size = _align(p.nbytes)
            if (p.name, buf.name) in gaps:  # buf is written over p from below
                banned.append((at - min(gaps[p.name, buf.name], size), at + p_size))
            elif (buf.name, p.name) in gaps:  # p is written over buf from below
                banned.append((at - size, at + min(gaps[buf.name, p.name], p_size)))
            else:
                banned.append((at - size, at + p_size))
        at = _first_fit(banned) if not gaps else _tightest_fit(banned, size, placed)
        placed.append((buf, at))
        offsets[buf.name] = at
    low = min(offsets.values(), default=0)  # overlapping chains may have grown below 0
    return {name: at - low for name, at in offsets.items()}


def _io_count(graph: Graph) -> int:
    return len([n for n in [*graph.inputs, *graph.outputs] if (t := graph.tensor(n)) is not None
                and not t.is_constant])


def _out_channels(graph: Graph, name: str) -> int:
    t = graph.tensor(name)
    if t is None or not t.shape:
        return 1
    c = t.shape[-1] if graph.format.value == "tflite" else (t.shape[1] if len(t.shape) > 1 else t.shape[-1])
    return c if isinstance(c, int) and c > 0 else 1


def estimate_memory(model: Any, *, inplace: bool = False, shapes: Any = None, inputs: Any = None) -> MemoryEstimate:
    """Arena (activations + runtime overhead) and flash (weights + code) for TFLite Micro-style runtimes,
    at the input shapes ``shapes`` gives (see ``profile``)."""
    from edgeport.analysis.shaped import input_note, plan_from, shaped_graph

    graph = shaped_graph(model, plan_from(model, shapes, inputs))
    dynamic: list[str] = []
    bufs = lifetimes(graph, inplace=inplace, dynamic=dynamic) + _scratch(graph)
    plan = plan_arena(bufs)
    n_tensors = len([t for t in graph.tensors.values() if t.shape is not None or t.is_constant])
    n_io = _io_count(graph)
    tail = _BASE_TAIL + _PER_TENSOR * n_tensors + _PER_NODE * len(graph.nodes) + _PER_IO * n_io
    ops: dict[str, int] = {}
    unmeasured: set[str] = set()
    for node in graph.nodes:
        op = canonical_op(graph, node)
        ops[op] = ops.get(op, 0) + 1
        fixed, per_ch = _TFLM_OP_TAIL.get(op, (_DEFAULT_OP_TAIL, False))
        if op not in _TFLM_OP_TAIL:
            unmeasured.add(op)
        tail += fixed
        if per_ch and node.outputs:
            tail += _PER_CHANNEL * _out_channels(graph, node.outputs[0])
    # temporaries AllocateTensors keeps in the head: TfLiteTensor copies while a kernel prepares
    # (64 B per input/output + quantisation), then the planner's bookkeeping (AllocationInfo per
    # tensor, 40 B; planner lists per activation buffer, 36 B)
    prepare = max((64 * len([i for i in n.inputs if i]) + 64 * len(n.outputs) + 32 for n in graph.nodes), default=0)
    commit = 40 * n_tensors + 36 * len(bufs)
    temp = _align(max(prepare, commit))
    head = max(plan.activation_bytes, temp)
    code = int((_CODE_CORE_KB + sum(_CODE_KB.get(op, _DEFAULT_CODE_KB) for op in ops)) * 1024)
    unmeasured |= {op for op in ops if op not in _CODE_KB}
    weights = graph.weight_bytes()
    live = [b.name for b in bufs if b.alias_of is None and b.first <= plan.peak_step <= b.last]
    notes = []
    input_dims = sorted({d for d in dynamic if d.rsplit(":", 1)[0] in graph.inputs})
    note = input_note(graph)
    if note:
        notes.append(note)
    elif dynamic:
        notes.append(f"dynamic dims assumed 1 ({', '.join(input_dims) or 'intermediate tensors'}): fix them "
                     f"(fix-shapes pass) for an exact plan")
    if unmeasured:
        notes.append(f"op(s) without a measured TFLite Micro overhead (default estimate used): {sorted(unmeasured)}")
    return MemoryEstimate(model=graph.name, format=graph.format.value, activation_bytes=plan.activation_bytes,
                          lower_bound=plan.lower_bound, prepare_temp_bytes=temp, runtime_overhead_bytes=tail,
                          arena_bytes=head + tail, weight_bytes=weights, code_bytes=code, flash_bytes=weights + code,
                          peak_step=plan.peak_step, peak_tensors=live, dynamic_dims=input_dims,
                          op_counts=ops, unmeasured_ops=sorted(unmeasured), notes=notes)


@dataclass
class FitResult:
    model: str
    target: str
    fits: bool
    arena_bytes: int
    ram_budget_bytes: int | None
    ram_margin_bytes: int | None  # budget - need (negative: short by)
    flash_bytes: int
    flash_budget_bytes: int | None
    flash_margin_bytes: int | None
    suggestions: list[str]
    estimate: MemoryEstimate
    verdict: str
    measured: Any = None  # analysis.mcu_fit.McuMeasurement: edgeport's MCU C linked for the part (measured)
    latency: Estimate | None = None  # estimated latency and energy on the device (``edgeport.predict``)


def _human(n: int) -> str:
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if abs(n) >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"


def _suggest(graph: Graph, est: MemoryEstimate, ram_short: bool, flash_short: bool) -> list[str]:
    out: list[str] = []
    float_weights = sum(t.nbytes for t in graph.constants() if t.dtype in ("float32", "float64"))
    float_acts = any((t := graph.tensor(n)) is not None and t.dtype == "float32" for n in est.peak_tensors)
    if flash_short and float_weights:
        out.append(f"quantise weights to int8 (edgeport quantize): ~{float_weights * 3 // 4 // 1024} KB less flash")
    if ram_short:
        if float_acts:
            out.append("quantise activations to int8 (full-integer model): peak activations shrink ~4x")
        out.append(f"reduce the input resolution or the channels of the layers alive at the peak "
                   f"({', '.join(est.peak_tensors[:4])})")
        if est.dynamic_dims:
            out.append("fix dynamic dims to the smallest real value (edgeport fix-shapes)")
    if flash_short:
        out.append("prune or shrink the widest layers; drop unused ops from the op resolver")
    return out


def fit(model: Any, target: Any, *, inplace: bool = False, shapes: Any = None, inputs: Any = None,
        latency: bool = False, calibrations: Any = None) -> FitResult:
    """Does ``model`` fit ``target``'s RAM (arena) and flash (weights + runtime code), at the input shapes
    ``shapes`` gives (see ``profile``)? With ``latency``, the result also carries the latency and energy
    estimate (``edgeport.predict``, from ``calibrations``; default: the result store's);
    ``analysis.mcu_fit.measure_mcu`` fills ``measured``."""
    from edgeport.analysis.shaped import plan_from, shaped_graph
    from edgeport.core.target import get_target

    graph = shaped_graph(model, plan_from(model, shapes, inputs))
    tgt = get_target(target)
    est = estimate_memory(graph, inplace=inplace)
    mem = tgt.memory
    ram = mem.sram_bytes if tgt.is_mcu else (mem.app_limit_bytes or mem.ram_bytes)
    flash = mem.flash_bytes if tgt.is_mcu else None
    ram_margin = None if ram is None else ram - est.arena_bytes
    flash_need = est.flash_bytes if tgt.is_mcu else est.weight_bytes
    flash_margin = None if flash is None else flash - flash_need
    ram_short = ram_margin is not None and ram_margin < 0
    flash_short = flash_margin is not None and flash_margin < 0
    fits = not ram_short and not flash_short
    parts = [f"arena {_human(est.arena_bytes)} of {_human(ram)} {'SRAM' if tgt.is_mcu else 'RAM'}"
             if ram is not None else f"arena {_human(est.arena_bytes)}"]
    if flash is not None:
        parts.append(f"flash {_human(flash_need)} of {_human(flash)}")
    margin = min(m for m in (ram_margin, flash_margin) if m is not None) if (ram_margin is not None or
                                                                              flash_margin is not None) else None
    head = "fits" if fits else "does not fit"
    tail = "" if margin is None else (f", margin {_human(margin)}" if fits else f", short by {_human(-margin)}")
    return FitResult(model=graph.name, target=tgt.id, fits=fits, arena_bytes=est.arena_bytes, ram_budget_bytes=ram,
                     ram_margin_bytes=ram_margin, flash_bytes=flash_need, flash_budget_bytes=flash,
                     flash_margin_bytes=flash_margin, suggestions=_suggest(graph, est, ram_short, flash_short),
                     estimate=est, verdict=f"{head} on {tgt.id}: {'; '.join(parts)}{tail}",
                     latency=_latency(graph, tgt, calibrations) if latency else None)


def _latency(graph: Graph, tgt: Any, calibrations: Any) -> Estimate | None:
    from edgeport.analysis.compat import analyze

    try:
        return analyze(graph, tgt, calibrations=calibrations).estimate
    except EdgeportError:  # a graph the rules cannot place still gets its memory verdict
        return None
