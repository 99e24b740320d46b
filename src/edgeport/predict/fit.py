"""Fitting the cost model to measured latencies: non-negative, robust, anchored to the prior.

Each measured model gives one linear equation in the cost model's terms once each of its nodes is
known to be compute- or memory-bound (``costmodel.design_row``). The fit alternates: assign branches
under the current terms, then solve the non-negative least-squares problem (``scipy.optimize.nnls``)
on *relative* residuals (a 10 % miss on a 20 µs net counts as much as one on a 20 ms net), with
Huber weights re-computed each round (iteratively reweighted least squares) so one noisy measurement
cannot drag the terms. A prior row per term pulls it towards the device profile's default: a term the
calibration set says nothing about (an op class it does not contain) stays at its prior instead of
going to zero or infinity.

Two things keep a fit on few models (ten, say, against 31 terms) from chasing their noise:

* the prior is first rescaled by the median measured/predicted ratio of the set (``global_scale``):
  a device uniformly 2× slower than its profile says moves every term, the unseen ones too;
* how hard the terms are pulled to that prior is chosen by leave-one-out *inside* the calibration set
  (``choose_prior_weight``): the weight whose held-out predictions are best. Consistent timings pick a
  weak pull (the terms follow the data), noisy or few ones a strong pull (the terms stay near the
  rescaled prior).

A model measured with a per-operator profile (``Sample.kernels``: the seconds of each of its kernels, from ONNX
Runtime's profiler or OpenVINO's counters) adds one equation per kernel of at least ``MIN_KERNEL_S``: that node's
predicted time is its kernel's time (relative to it, each model's kernels together weighing as much as one model's
latency, ``1/√count`` each). That is the kernel-level calibration nn-Meter made its predictors from: hundreds of
nodes pin each op class's terms where a few dozen latencies, each a sum over every class, leave them to trade
against each other (the predictor suite's 35 fp32 networks on ONNX Runtime, one Xeon VM: leave-one-model-out
within ±20 % 43 % → 57 %, the big real models most: PP-OCR's detector −44 % → −18 %; a few tiny nets, all
overhead, got worse; OpenVINO mixed, ±10 % 31 → 40 %, ±20 % 69 → 60 %; calibrated on 10 unchanged). Smaller
kernels give no equation: the profiler's own cost per kernel (about 10 µs on ONNX Runtime: PP-OCR's classifier,
170 kernels, profiled at 2.5× its latency) is a large part of their time, and a model whose profiled kernels add up
to more than ``MAX_PROFILED`` times its latency gives none.

``leave_one_out`` refits without each model in turn and predicts it: those residuals are the
interval an estimate carries.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from edgeport._optional import require
from edgeport.predict.costmodel import CostParams, ModelFeatures, branches, design_row, node_row, predict_seconds

__all__ = ["PRIOR_WEIGHTS", "Sample", "choose_prior_weight", "fit_params", "global_scale", "leave_one_out"]

HUBER_DELTA = 0.05  # relative residuals beyond 5 % are down-weighted
# how hard each term is pulled to its prior, against one model's relative residual: the candidates
# choose_prior_weight tries (PRIOR_WEIGHT when the set is too small to choose by leave-one-out)
PRIOR_WEIGHTS = (0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
PRIOR_WEIGHT = 0.03
MIN_CHOOSE = 5
ROUNDS = 8
MIN_KERNEL_S = 200e-6  # a kernel shorter than this gives no equation (the profiler's own cost is much of it)
# a profile whose kernels add up to more than this many times the model's latency gives no equations: the profiler's
# own cost swamped it (silero-vad: ~100 tiny kernels inside one If, 0.73 ms profiled for a 0.14 ms model)
MAX_PROFILED = 1.5


@dataclass(frozen=True)
class Sample:
    """One calibration model: its cost-model rows and its measured median latency (seconds)."""

    name: str
    features: ModelFeatures
    measured_s: float
    # position among ``features.nodes`` -> seconds per run of its kernel, from a per-operator profile
    kernels: Mapping[int, float] | None = None


def global_scale(samples: Sequence[Sample], prior: CostParams) -> float:
    """The median measured / predicted ratio of ``samples`` under ``prior`` (1 when there are none)."""
    ratios = [s.measured_s / p for s in samples if (p := predict_seconds(s.features, prior)) > 0]
    return float(np.median(ratios)) if ratios else 1.0


def _scaled(params: CostParams, factor: float) -> CostParams:
    return CostParams.from_vector(params.vector() * factor)


def fit_params(samples: Sequence[Sample], prior: CostParams, *, prior_weight: float | None = None) -> CostParams:
    """The terms that best explain ``samples`` (see the module docstring); the rescaled ``prior`` where they say
    nothing. ``prior_weight`` None: chosen by ``choose_prior_weight``."""
    if not samples:
        return prior
    anchor = _scaled(prior, global_scale(samples, prior))
    if prior_weight is None:
        prior_weight = choose_prior_weight(samples, anchor)
    return _fit(samples, anchor, prior_weight)


def choose_prior_weight(samples: Sequence[Sample], anchor: CostParams,
                        weights: Sequence[float] = PRIOR_WEIGHTS) -> float:
    """The pull towards ``anchor`` whose leave-one-out predictions of ``samples`` are best (the smallest mean
    |relative error|, each capped at 1 so one wild model cannot decide); ``PRIOR_WEIGHT`` for tiny sets."""
    if len(samples) < MIN_CHOOSE:
        return PRIOR_WEIGHT
    best, best_score = PRIOR_WEIGHT, float("inf")
    for w in weights:
        errors = []
        for i, s in enumerate(samples):
            params = _fit([x for j, x in enumerate(samples) if j != i], anchor, w)
            errors.append(min(abs(predict_seconds(s.features, params) / s.measured_s - 1.0), 1.0))
        score = float(np.mean(errors))
        if score < best_score - 1e-9:
            best, best_score = w, score
    return best


def _system(samples: Sequence[Sample], params: CostParams) -> tuple[np.ndarray, np.ndarray]:
    """The fit's equations under ``params``' branches, each relative to what it measures: one per model
    (latency) and one per profiled kernel of at least ``MIN_KERNEL_S``, as ``(a, b)`` with ``a · params ≈ b``."""
    rows, b = [], []
    for s in samples:
        cb = branches(s.features, params)
        rows.append(design_row(s.features, cb) / s.measured_s)
        b.append((s.measured_s - s.features.boundary_s) / s.measured_s)
        kernels = s.kernels if s.kernels and sum(s.kernels.values()) <= MAX_PROFILED * s.measured_s else {}
        timed = [(k, t) for k, t in kernels.items() if t >= MIN_KERNEL_S]
        weight = 1.0 / np.sqrt(len(timed)) if timed else 0.0
        for k, t in timed:
            rows.append(weight * node_row(s.features.nodes[k], cb[k]) / t)
            b.append(weight)
    return np.array(rows), np.array(b)


def _fit(samples: Sequence[Sample], prior: CostParams, prior_weight: float) -> CostParams:
    """One robust fit towards ``prior`` with a fixed ``prior_weight``."""
    nnls = require("scipy.optimize", "onnx", "fitting the latency predictor").nnls
    p0 = prior.vector()
    scale = np.where(p0 > 0, p0, 1.0)  # solve for params / prior: every unknown is ~1
    params = prior
    weights: np.ndarray | None = None  # Huber weights, one per equation (their count is fixed by the samples)
    for _ in range(ROUNDS):
        rows, b = _system(samples, params)
        a = rows * scale
        if weights is None:
            weights = np.ones(len(b))
        sw = np.sqrt(weights)[:, None]
        a_all = np.vstack([a * sw, prior_weight * np.eye(len(p0))])
        b_all = np.concatenate([b * sw[:, 0], prior_weight * np.ones(len(p0))])
        z, _ = nnls(a_all, b_all, maxiter=50 * len(p0))
        new = CostParams.from_vector(z * scale)
        resid = np.abs(a @ z - b)
        weights = np.where(resid <= HUBER_DELTA, 1.0, HUBER_DELTA / np.maximum(resid, 1e-12))
        if np.allclose(new.vector(), params.vector(), rtol=1e-6, atol=0):
            params = new
            break
        params = new
    return params


def leave_one_out(samples: Sequence[Sample], prior: CostParams) -> list[float]:
    """Signed relative error (predicted / measured − 1) of each sample, predicted by a fit without it.

    The pull towards the prior is chosen once, on the whole set (choosing it again inside every fold would
    cost n² fits for a choice among a handful of values); the rescaling and the fit leave the model out."""
    anchor = _scaled(prior, global_scale(samples, prior))
    weight = choose_prior_weight(samples, anchor)
    out = []
    for i, s in enumerate(samples):
        rest = [x for j, x in enumerate(samples) if j != i]
        params = fit_params(rest, prior, prior_weight=weight)
        out.append(predict_seconds(s.features, params) / s.measured_s - 1.0)
    return out
