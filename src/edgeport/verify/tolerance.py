"""Tolerances: what "the same model" means for an output, per output kind and precision."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Tolerance"]


@dataclass(frozen=True)
class Tolerance:
    """Pass criteria. ``None`` disables a criterion.

    Classifier logits are judged mainly by top-1 agreement; embeddings by cosine; dense
    regression outputs by relative error. ``atol``/``rtol`` apply elementwise like
    ``numpy.allclose`` (a sample passes when ``|a-b| <= atol + rtol*|ref|``).
    """

    atol: float | None = 1e-4
    rtol: float | None = 1e-3
    min_cosine: float | None = 0.9999
    min_top1_agreement: float | None = 1.0
    max_accuracy_drop: float | None = None  # absolute, e.g. 0.01 = one point

    @classmethod
    def for_precision(cls, precision: str) -> Tolerance:
        if precision in ("fp32", "float32"):
            return cls()
        if precision in ("fp16", "bf16", "float16"):
            return cls(atol=5e-2, rtol=5e-2, min_cosine=0.999, min_top1_agreement=0.98)
        # integer precisions: elementwise error is expected; judge by agreement and accuracy
        return cls(atol=None, rtol=None, min_cosine=0.98, min_top1_agreement=0.95, max_accuracy_drop=0.02)

    @classmethod
    def for_output_kind(cls, kind: str) -> Tolerance:
        if kind == "embedding":
            return cls(atol=None, rtol=None, min_cosine=0.999, min_top1_agreement=None)
        if kind == "dense":
            return cls(atol=1e-4, rtol=1e-3, min_cosine=None, min_top1_agreement=None)
        return cls()
