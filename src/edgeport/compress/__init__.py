"""Compression under an accuracy budget: quantisation per stack, mixed precision, QAT, pruning,
distillation. Every result reports size, accuracy on the test split and measured latency.

All quantisation lives here: ``quantize`` (one vocabulary over every stack), ``stacks`` (which
stack makes which precision, read from the converters' and passes' declarations), ``mixed``
(layers kept float under a budget), ``sensitivity`` (per-layer ranking) and ``qat``.

No ML framework is imported here; each function imports its backend when called.
"""

from __future__ import annotations

from edgeport.compress.distill import DistillOptions, DistillResult, digits_student, distill
from edgeport.compress.mixed import MixedPrecisionResult, parse_budget
from edgeport.compress.prune import PruneOptions, PruneResult, prune
from edgeport.compress.qat import QATOptions, QATResult, qat
from edgeport.compress.quantize import PRECISIONS, STACKS, QuantizeResult, quantize

__all__ = ["PRECISIONS", "STACKS", "DistillOptions", "DistillResult", "MixedPrecisionResult", "PruneOptions",
           "PruneResult", "QATOptions", "QATResult", "QuantizeResult", "digits_student", "distill",
           "parse_budget", "prune", "qat", "quantize"]
