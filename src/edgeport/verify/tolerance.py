"""Tolerances: what "the same model" means for an output, per output kind and precision.

Defaults are task-aware: classifier logits are judged mainly by top-1 agreement, embeddings by
cosine similarity, regression outputs and dense maps by elementwise relative error. Reduced
precisions (fp16, int8) loosen the criteria. Every criterion can be overridden (``override``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import Any

__all__ = ["OUTPUT_KINDS", "Tolerance", "ToleranceOverrides", "infer_output_kind", "normalize_precision"]

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
    def for_precision(cls, precision: str) -> Tolerance:
        p = normalize_precision(precision)
        if p == "fp32":
            return cls()
        if p == "fp16":
            return cls(atol=5e-2, rtol=5e-2, min_cosine=0.999, min_top1_agreement=0.98)
        # integer precisions: elementwise error is expected; judge by agreement and accuracy
        return cls(atol=None, rtol=None, min_cosine=0.98, min_top1_agreement=0.95, max_accuracy_drop=0.02)

    @classmethod
    def for_output_kind(cls, kind: str, precision: str = "fp32") -> Tolerance:
        """The default criteria for one output kind (``logits``/``embedding``/``dense``) at a precision."""
        p = normalize_precision(precision)
        if kind == "embedding":
            cos = {"fp32": 0.9999, "fp16": 0.999}.get(p, 0.98)
            return cls(atol=None, rtol=None, min_cosine=cos, min_top1_agreement=None)
        if kind == "dense":
            if p == "fp32":
                return cls(atol=1e-4, rtol=1e-3, min_cosine=None, min_top1_agreement=None)
            if p == "fp16":
                return cls(atol=5e-2, rtol=5e-2, min_cosine=None, min_top1_agreement=None)
            return cls(atol=None, rtol=None, min_cosine=0.98, min_top1_agreement=None)
        # logits: top-1 agreement first; cosine and a loose elementwise bound catch scale errors
        if p == "fp32":
            return cls(atol=1e-3, rtol=1e-2, min_cosine=0.9999, min_top1_agreement=1.0)
        return cls.for_precision(p)

    def override(self, **changes: Any) -> Tolerance:
        """A copy with every non-``None`` keyword applied (CLI ``--atol`` ``--rtol``...)."""
        names = {f.name for f in fields(self)}
        unknown = set(changes) - names
        if unknown:
            raise TypeError(f"Tolerance has no field(s) {sorted(unknown)}")
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def layer_snr_floor(self, precision: str = "fp32") -> float:
        """SNR (dB) under which localisation calls an intermediate tensor divergent."""
        if self.min_layer_snr_db is not None:
            return self.min_layer_snr_db
        return {"fp32": 60.0, "fp16": 30.0}.get(normalize_precision(precision), 15.0)


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


def normalize_precision(precision: str | None) -> str:
    p = (precision or "fp32").lower()
    if p in ("fp32", "float32", "f32", "float"):
        return "fp32"
    if p in ("fp16", "float16", "f16", "bf16", "bfloat16"):
        return "fp16"
    return "int8"


def infer_output_kind(shape: tuple[int, ...] | list[int], task: str = "classification") -> str:
    """``logits`` / ``embedding`` / ``dense`` from an output's (batch-first) shape and the dataset task."""
    rank = len(shape)
    if rank == 2 and shape[1] >= 2:
        if task == "embedding":
            return "embedding"
        if task in ("classification", "unknown"):
            return "logits"
    return "dense"
