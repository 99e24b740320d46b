"""Localisation: the first node where the test artifact's intermediate values leave tolerance.

Both artifacts run on the same real samples (each in its own input layout) through instrumented
*copies* (``trace.capture``); the artifact under test is never modified. Tensors are mapped
between the two graphs by name first, then by position along the graph, op type and shape
(layout-permuted shapes allowed), with a monotonic alignment; layout-only test ops (Transpose,
Reshape, Q/DQ...) with no counterpart are compared to their input's counterpart. The result
holds the error-growth curve along the test graph and a plotting-ready series.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from edgeport.core.artifact import Artifact
from edgeport.core.precision import Precision
from edgeport.data.datasets import Dataset
from edgeport.errors import UnsupportedError
from edgeport.verify import metrics
from edgeport.verify.align import align_inputs
from edgeport.verify.precision import infer_precision
from edgeport.verify.tolerance import Tolerance
from edgeport.verify.trace import Trace, TraceEntry, capture

__all__ = ["LayerError", "Localization", "localize", "pair_traces"]

_LAYOUT_OPS = {"transpose", "reshape", "identity", "squeeze", "unsqueeze", "flatten", "cast", "view", "permute",
               "clone", "contiguous", "_to_copy", "quantize", "dequantize", "quantizelinear", "dequantizelinear",
               "expand_dims", "_unsafe_view", "alias"}
_OP_CLASSES = {
    "conv": ("conv", "convolution", "depthwise"), "matmul": ("matmul", "gemm", "linear", "fully_connected", "addmm",
                                                               "mm", "bmm", "dense"),
    "relu": ("relu", "clip", "hardtanh"), "pool": ("pool",), "norm": ("norm",), "add": ("add",), "mul": ("mul",),
    "softmax": ("softmax",), "concat": ("concat", "cat"), "sigmoid": ("sigmoid", "logistic"),
    "reshape": ("reshape", "view", "flatten"), "transpose": ("transpose", "permute"),
}


_BAND = 0.35  # position pairs must sit at similar relative depths of the two graphs
DEFAULT_SAMPLES = 16  # enough for a stable per-tensor SNR; every intermediate of every sample is held in memory


def _is_layout_op(op: str) -> bool:
    return op.lower() in _LAYOUT_OPS or _op_class(op) in _LAYOUT_OPS


def _op_class(op: str) -> str:
    low = op.lower()
    for cls, keys in _OP_CLASSES.items():
        if any(k in low for k in keys):
            return cls
    return low


@dataclass
class LayerError:
    """Error of one test tensor against its reference counterpart (one point of the curve)."""

    index: int  # position along the test graph
    test_tensor: str
    test_node: str
    op_type: str
    reference_tensor: str
    reference_op: str
    shape: list[int]
    max_abs: float
    mean_abs: float
    rel_error: float  # ||test - ref|| / ||ref||
    cosine: float
    snr_db: float
    within: bool
    matched_by: str  # name | position | inherited (layout-only op compared to its input's counterpart)
    note: str = ""
    recovered: bool = False  # out of tolerance but the next matched tensor downstream agrees: a mapping
    #                          artefact (e.g. a conv whose bias/BN the other graph applies later), not a fault


@dataclass
class Localization:
    reference: str
    test: str
    reference_format: str
    test_format: str
    available: bool  # False: a format exposes no intermediates (see reason)
    reason: str = ""
    samples: int = 0
    precision: str = "fp32"
    min_snr_db: float = 0.0  # a tensor under this SNR is divergent
    min_cosine: float | None = None
    first_divergent: LayerError | None = None
    suspects: list[str] = field(default_factory=list)  # test nodes between the last good tensor and the first bad one
    layers: list[LayerError] = field(default_factory=list)  # the error-growth curve, in test graph order
    unmatched_test: list[str] = field(default_factory=list)
    unmatched_reference: int = 0
    series: dict[str, list] = field(default_factory=dict)  # type: ignore[type-arg]  # plotting-ready
    alignment: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0
    kind: str = "localization"

    @property
    def diverged(self) -> bool:
        return self.first_divergent is not None

    def summary(self) -> str:
        if not self.available:
            return f"no localisation: {self.reason}"
        if self.first_divergent is None:
            return f"all {len(self.layers)} matched tensors within tolerance (SNR ≥ {self.min_snr_db:g} dB)"
        d = self.first_divergent
        if d.op_type == "Input":
            return (f"input {d.test_tensor!r} differs from the reference's input (SNR {d.snr_db:.1f} dB): "
                    f"the two models received different data (layout or preprocessing)")
        return (f"first divergent node {d.test_node!r} ({d.op_type}) → tensor {d.test_tensor!r}: "
                f"SNR {d.snr_db:.1f} dB, cosine {d.cosine:.4f}, max abs {d.max_abs:.3g}")


# ---- pairing ----------------------------------------------------------------------------------
def _perms_for(test_shape: tuple[int, ...], ref_shape: tuple[int, ...]) -> list[tuple[int, ...] | None]:
    if test_shape == ref_shape:
        return [None]
    if len(test_shape) != len(ref_shape) or test_shape[0] != ref_shape[0] \
            or sorted(test_shape[1:]) != sorted(ref_shape[1:]):
        return []
    cands = {4: [(0, 3, 1, 2), (0, 2, 3, 1)], 3: [(0, 2, 1)], 5: [(0, 4, 1, 2, 3), (0, 2, 3, 4, 1)]}
    return [p for p in cands.get(len(ref_shape), []) if tuple(test_shape[i] for i in p) == ref_shape]


def _view(value: np.ndarray, perm: tuple[int, ...] | None) -> np.ndarray:
    return value if perm is None else value.transpose(perm)


def _best(t: TraceEntry, r: TraceEntry, k: int) -> tuple[float, tuple[int, ...] | None] | None:
    """(cosine on the first k samples, perm) for the best layout match, None when shapes are incompatible."""
    best: tuple[float, tuple[int, ...] | None] | None = None
    for perm in _perms_for(t.value.shape, r.value.shape):
        cos = metrics.cosine(r.value[:k], _view(t.value[:k], perm))
        if best is None or cos > best[0]:
            best = (cos, perm)
    return best


def pair_traces(test: Trace, ref: Trace, k: int = 16
                ) -> dict[int, tuple[int, tuple[int, ...] | None, str]]:
    """Monotonic alignment of test entries to reference entries: {test index: (ref index, perm, how)}.

    Layout-only ops (Transpose, Reshape, Q/DQ...) pair by name or with each other, never with compute
    ops (a fused conv+relu must meet the reference's relu, not leave it to a following Transpose).
    Score of a pair: 1 + 2·cosine (layout-permuted shapes allowed) + 3 for an equal name + 1 for
    the two final tensors + 1e-6 for the same op class (a tie-breaker only: fusion changes op types); dynamic programming maximises the total over order-preserving pairings.
    """
    nt, nr = len(test.entries), len(ref.entries)
    score = np.full((nt, nr), -np.inf)
    perms: dict[tuple[int, int], tuple[int, ...] | None] = {}
    ref_by_shape: dict[tuple[int, ...], list[int]] = {}
    for j, r in enumerate(ref.entries):
        ref_by_shape.setdefault(tuple(sorted(r.value.shape[1:])), []).append(j)
    for i, t in enumerate(test.entries):
        for j in ref_by_shape.get(tuple(sorted(t.value.shape[1:])), []):
            r = ref.entries[j]
            if t.name != r.name:
                if _is_layout_op(t.op_type) != _is_layout_op(r.op_type):
                    continue  # layout-only ops pair by name, with each other, or inherit their input's counterpart
                if abs(i / max(nt - 1, 1) - j / max(nr - 1, 1)) > _BAND:
                    continue  # far apart along the two graphs: not the same point of the network
            found = _best(t, r, k)
            if found is None:
                continue
            cos, perm = found
            same_op = _op_class(t.op_type) == _op_class(r.op_type)
            ends = i == nt - 1 and j == nr - 1  # the final values of both graphs meet
            s = 1.0 + 2.0 * cos + (3.0 if t.name == r.name else 0.0) + (1.0 if ends else 0.0) \
                + (1e-6 if same_op else 0.0)
            score[i, j] = s
            perms[(i, j)] = perm
    dp = np.zeros((nt + 1, nr + 1))
    move = np.zeros((nt + 1, nr + 1), dtype=np.int8)  # 0 skip test, 1 skip ref, 2 match
    for i in range(1, nt + 1):
        for j in range(1, nr + 1):
            options = (dp[i - 1, j], dp[i, j - 1], dp[i - 1, j - 1] + score[i - 1, j - 1]
                       if np.isfinite(score[i - 1, j - 1]) else -np.inf)
            m = int(np.argmax(options))
            dp[i, j], move[i, j] = options[m], m
    pairs: dict[int, tuple[int, tuple[int, ...] | None, str]] = {}
    i, j = nt, nr
    while i > 0 and j > 0:
        m = move[i, j]
        if m == 2:
            t, r = test.entries[i - 1], ref.entries[j - 1]
            pairs[i - 1] = (j - 1, perms[(i - 1, j - 1)], "name" if t.name == r.name else "position")
            i, j = i - 1, j - 1
        elif m == 1:
            j -= 1
        else:
            i -= 1
    return pairs


# ---- localisation -----------------------------------------------------------------------------
def localize(reference: Artifact, test: Artifact, data: Dataset, *, split: str = "test",
             tolerance: Tolerance | None = None, precision: str | None = None,
             max_samples: int = DEFAULT_SAMPLES) -> Localization:
    """Find the first node of ``test`` whose values leave tolerance against ``reference``."""

    start = time.perf_counter()
    prec = Precision.parse(precision) if precision else infer_precision(test)
    tol = tolerance or Tolerance.for_precision(prec)
    floor = tol.layer_snr_floor(prec)
    result = Localization(reference=str(reference.path), test=str(test.path),
                          reference_format=reference.format.value, test_format=test.format.value,
                          available=False, precision=prec, min_snr_db=floor)
    subset = data.split(split).head(max_samples)
    result.samples = subset.count
    traces: list[Trace] = []
    layout = next((s.layout for s in reference.inputs if s.layout), None)
    for art, side in ((reference, "reference"), (test, "test")):
        try:
            aligned = align_inputs(subset, art.inputs, side, None if side == "reference" else layout) \
                if art.inputs else None
            traces.append(capture(art, aligned.dataset if aligned else subset, max_samples=max_samples))
            if aligned:
                result.alignment += aligned.lines
        except UnsupportedError as exc:
            result.reason = f"{side} ({art.format.value}): {exc.cause}"
            result.seconds = time.perf_counter() - start
            return result
    ref_trace, test_trace = traces
    result.available = True
    result.notes = ref_trace.notes + test_trace.notes
    _evaluate(result, ref_trace, test_trace, floor, tol.min_cosine if prec == "fp32" else None)
    result.seconds = time.perf_counter() - start
    return result


def _layer(index: int, t: TraceEntry, r: TraceEntry, perm: tuple[int, ...] | None, how: str, floor: float,
           min_cos: float | None) -> LayerError:
    tv = _view(t.value, perm).astype(np.float64)
    rv = r.value.astype(np.float64)
    snr = metrics.snr_db(rv, tv)
    cos = metrics.cosine(rv, tv)
    norm = float(np.linalg.norm(rv))
    rel = float(np.linalg.norm(rv - tv) / norm) if norm > 0 else (0.0 if not np.any(tv) else float("inf"))
    within = snr >= floor and (min_cos is None or cos >= min_cos)
    snr = snr if np.isfinite(snr) else (999.0 if snr > 0 else -999.0)
    notes = [x for x in (t.note, f"compared after transpose {perm}" if perm else "") if x]
    return LayerError(index=index, test_tensor=t.name, test_node=t.node, op_type=t.op_type,
                      reference_tensor=r.name, reference_op=r.op_type, shape=list(t.value.shape),
                      max_abs=metrics.max_abs(rv, tv), mean_abs=metrics.mean_abs(rv, tv),
                      rel_error=rel if np.isfinite(rel) else 1e9, cosine=cos, snr_db=snr, within=within,
                      matched_by=how, note="; ".join(notes))


def _mark_recovered(layers: list[LayerError], test: Trace) -> None:
    """Flag divergent tensors whose first matched descendant is back within tolerance.

    Real faults propagate; a low score that vanishes one matched tensor later comes from pairing a
    partial value of a fused op (conv without its bias, pre-activation...) with the full one.
    """
    by_index = {x.index: x for x in layers}
    consumers: dict[str, list[int]] = {}
    for i, e in enumerate(test.entries):
        for name in e.inputs:
            consumers.setdefault(name, []).append(i)
    for layer in layers:
        if layer.within:
            continue
        seen: set[int] = set()
        frontier = list(consumers.get(test.entries[layer.index].name, []))
        nearest: LayerError | None = None
        while frontier:
            i = min(frontier)
            frontier.remove(i)
            if i in seen:
                continue
            seen.add(i)
            if i in by_index:
                nearest = by_index[i]
                break
            frontier.extend(consumers.get(test.entries[i].name, []))
        if nearest is not None and nearest.within:
            layer.recovered = True
            layer.note = "; ".join(x for x in (layer.note, f"downstream {nearest.test_tensor!r} agrees again: "
                                                             f"a mapping artefact, not a fault") if x)


def _evaluate(result: Localization, ref: Trace, test: Trace, floor: float, min_cos: float | None) -> None:
    pairs = pair_traces(test, ref)
    counterpart: dict[str, tuple[int, tuple[int, ...] | None]] = {}  # test tensor -> (ref index, perm)
    layers: list[LayerError] = []
    unmatched: list[str] = []
    for i, t in enumerate(test.entries):
        how = ""
        if i in pairs:
            j, perm, how = pairs[i]
        else:
            j, perm = -1, None
            if _is_layout_op(t.op_type):
                for name in t.inputs:
                    if name in counterpart:
                        cj = counterpart[name][0]
                        found = _perms_for(t.value.shape, ref.entries[cj].value.shape)
                        if found:
                            j, perm, how = cj, found[0], "inherited"
                            break
        if j < 0:
            unmatched.append(t.name)
            continue
        counterpart[t.name] = (j, perm)
        layers.append(_layer(i, t, ref.entries[j], perm, how, floor, min_cos))
    result.layers = layers
    result.unmatched_test = unmatched
    result.unmatched_reference = len(ref.entries) - len({p[0] for p in pairs.values()})
    result.min_cosine = min_cos
    _mark_recovered(layers, test)
    last_good = -1
    for layer in layers:
        if not layer.within and not layer.recovered:
            result.first_divergent = layer
            result.suspects = [e.node for e in test.entries[last_good + 1: layer.index + 1]]
            break
        if layer.within:
            last_good = layer.index
    result.series = {"index": [x.index for x in layers], "label": [f"{x.test_node} ({x.op_type})" for x in layers],
                     "snr_db": [x.snr_db for x in layers], "cosine": [x.cosine for x in layers],
                     "rel_error": [x.rel_error for x in layers], "max_abs": [x.max_abs for x in layers],
                     "within": [x.within for x in layers], "recovered": [x.recovered for x in layers]}
    if not layers:
        result.notes.append("no intermediate tensor of the test model could be mapped to the reference")
