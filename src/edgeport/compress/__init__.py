"""Compression under an accuracy budget: quantisation per stack, mixed precision, QAT, pruning,
distillation. Every result reports size, accuracy on the test split and measured latency."""

from __future__ import annotations

__all__: list[str] = []
