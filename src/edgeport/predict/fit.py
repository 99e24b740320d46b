"""Fitting the cost model to measured latencies: non-negative, robust, anchored to the prior.

Each measured model gives one linear equation in the cost model's terms once each of its nodes is
known to be compute- or memory-bound (``costmodel.design_row``). The fit alternates: assign branches
under the current terms, then solve the non-negative least-squares problem (``scipy.optimize.nnls``)
on *relative* residuals (a 10 % miss on a 20 µs net counts as much as one on a 20 ms net), with
Huber weights re-computed each round (iteratively reweighted least squares) so one noisy measurement
cannot drag the terms. A weak prior row per term pulls it towards the device profile's default: a
term the calibration set says nothing about (an op class it does not contain) stays at its prior
instead of going to zero or infinity.

``leave_one_out`` refits without each model in turn and predicts it: those residuals are the
interval an estimate carries.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from edgeport._optional import require
from edgeport.predict.costmodel import CostParams, ModelFeatures, branches, design_row, predict_seconds

__all__ = ["Sample", "fit_params", "leave_one_out"]

HUBER_DELTA = 0.05  # relative residuals beyond 5 % are down-weighted
PRIOR_WEIGHT = 0.005  # how hard each term is pulled to its prior, against one model's relative residual
ROUNDS = 8


@dataclass(frozen=True)
class Sample:
    """One calibration model: its cost-model rows and its measured median latency (seconds)."""

    name: str
    features: ModelFeatures
    measured_s: float


def fit_params(samples: Sequence[Sample], prior: CostParams, *, prior_weight: float = PRIOR_WEIGHT) -> CostParams:
    """The terms that best explain ``samples`` (see the module docstring); ``prior`` where they say nothing."""
    nnls = require("scipy.optimize", "onnx", "fitting the latency predictor").nnls
    p0 = prior.vector()
    scale = np.where(p0 > 0, p0, 1.0)  # solve for params / prior: every unknown is ~1
    params = prior
    weights = np.ones(len(samples))
    for _ in range(ROUNDS):
        rows = np.array([design_row(s.features, branches(s.features, params)) for s in samples])
        y = np.array([s.measured_s - s.features.boundary_s for s in samples])
        meas = np.array([s.measured_s for s in samples])
        a = rows * scale / meas[:, None]
        b = y / meas
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
    """Signed relative error (predicted / measured − 1) of each sample, predicted by a fit without it."""
    out = []
    for i, s in enumerate(samples):
        rest = [x for j, x in enumerate(samples) if j != i]
        params = fit_params(rest, prior)
        out.append(predict_seconds(s.features, params) / s.measured_s - 1.0)
    return out
