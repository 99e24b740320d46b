"""Tolerances: what "the same model" means for an output, per output kind and precision.

Defaults are task-aware: classifier logits are judged mainly by top-1 agreement, embeddings by
cosine similarity, regression outputs and dense maps by elementwise relative error. Reduced
precisions loosen the criteria by their family (``edgeport.core.precision``): reduced floats (fp16,
bf16) keep loose elementwise bounds, integer precisions are judged by agreement and accuracy. Every
criterion can be overridden (``override``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

import numpy as np

from edgeport.core.precision import Precision, PrecisionFamily

__all__ = ["OUTPUT_KINDS", "Tolerance", "ToleranceOverrides", "infer_output_kind"]

OUTPUT_KINDS = ("logits", "embedding", "dense")


@dataclass(frozen=True)
class Tolerance:
    """Pass criteria. ``None`` disables a criterion.

    ``atol``/``rtol`` apply elementwise like ``numpy.allclose`` (a sample passes when
    ``|a-b| <= atol + rtol*|ref|``); ``min_cosine`` is the mean per-sample cosine similarity;
    ``min_top1_agreement`` the fraction of samples whose reference top-1 class is also the test's;
    ``max_accuracy_drop`` an absolute drop of the task metric (0.01 = one point).
    ``min_layer_snr_db`` is what localisation uses to call an intermediate tensor divergent.
    """

    atol: float | None = 1e-4
    rtol: float | None = 1e-3
    min_cosine: float | None = 0.9999
    min_top1_agreement: float | None = 1.0
    max_accuracy_drop: float | None = None  # absolute, e.g. 0.01 = one point
    min_layer_snr_db: float | None = None  # None: derived from the precision (see layer_snr_floor)

    @classmethod
    def for_precision(cls, precision: str | Precision | None) -> Tolerance:
        p = Precision.parse(precision)
        if p.family is PrecisionFamily.FLOAT32:
            return cls()
        if p.family is PrecisionFamily.REDUCED_FLOAT:
            bound = _REDUCED_BOUND[p]
            return cls(atol=bound, rtol=bound, min_cosine=_REDUCED_COSINE[p], min_top1_agreement=0.98)
        # integer precisions: elementwise error is expected; judge by agreement and accuracy
        return cls(atol=None, rtol=None, min_cosine=0.98, min_top1_agreement=0.95, max_accuracy_drop=0.02)

    @classmethod
    def for_output_kind(cls, kind: str, precision: str | Precision | None = None) -> Tolerance:
        """The default criteria for one output kind (``logits``/``embedding``/``dense``) at a precision."""
        p = Precision.parse(precision)
        family = p.family
        if kind == "embedding":
            cos = {PrecisionFamily.FLOAT32: 0.9999, PrecisionFamily.INTEGER: 0.98}.get(family) \
                or _REDUCED_COSINE[p]
            return cls(atol=None, rtol=None, min_cosine=cos, min_top1_agreement=None)
        if kind == "dense":
            if family is PrecisionFamily.FLOAT32:
                return cls(atol=1e-4, rtol=1e-3, min_cosine=None, min_top1_agreement=None)
            if family is PrecisionFamily.REDUCED_FLOAT:
                bound = _REDUCED_BOUND[p]
                return cls(atol=bound, rtol=bound, min_cosine=None, min_top1_agreement=None)
            return cls(atol=None, rtol=None, min_cosine=0.98, min_top1_agreement=None)
        # logits: top-1 agreement first; cosine and a loose elementwise bound catch scale errors
        if family is PrecisionFamily.FLOAT32:
            return cls(atol=1e-3, rtol=1e-2, min_cosine=0.9999, min_top1_agreement=1.0)
        return cls.for_precision(p)

    def override(self, **changes: Any) -> Tolerance:
        """A copy with every non-``None`` keyword applied (CLI ``--atol`` ``--rtol``...)."""
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise TypeError(f"Tolerance has no field(s) {sorted(unknown)}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def layer_snr_floor(self, precision: str | Precision | None = None) -> float:
        """SNR (dB) under which localisation calls an intermediate tensor divergent."""
        if self.min_layer_snr_db is not None:
            return self.min_layer_snr_db
        return _LAYER_SNR_FLOOR[Precision.parse(precision).family]


# Reduced floats round every tensor: fp16 keeps 11 significant bits, bf16 only 8 (fp32's range), so
# bf16 gets the looser elementwise bound and cosine.
_REDUCED_BOUND = {Precision.FP16: 5e-2, Precision.BF16: 1e-1}
_REDUCED_COSINE = {Precision.FP16: 0.999, Precision.BF16: 0.998}
_LAYER_SNR_FLOOR = {PrecisionFamily.FLOAT32: 60.0, PrecisionFamily.REDUCED_FLOAT: 30.0,
                    PrecisionFamily.INTEGER: 15.0}


@dataclass(frozen=True)
class ToleranceOverrides:
    """User overrides applied on top of the task-aware defaults (``None``: keep the default)."""

    atol: float | None = None
    rtol: float | None = None
    min_cosine: float | None = None
    min_top1_agreement: float | None = None
    max_accuracy_drop: float | None = None
    min_layer_snr_db: float | None = None

    def apply(self, tolerance: Tolerance) -> Tolerance:
        return tolerance.override(**{f.name: getattr(self, f.name) for f in fields(self)})

    def any(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


def infer_output_kind(shape: tuple[int, ...] | list[int], task: str = "classification",
                      dtype: str | None = None) -> str:
    """``logits`` / ``embedding`` / ``dense`` from an output's (batch-first) shape, dtype and the dataset task.

    An integer or boolean output (decoded labels, indices, masks) is never scores: it is ``dense``.
    """
    rank = len(shape)
    if dtype is not None and np.dtype(dtype).kind in "iub":
        return "dense"
    if rank == 2 and shape[1] >= 2:
        if task == "embedding":
            return "embedding"
        if task in ("classification", "unknown"):
            return "logits"
    return "dense"
