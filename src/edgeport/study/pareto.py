"""Pareto frontier over accuracy (max), latency (min) and size (min)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = ["Point", "dominates", "pareto_front"]


@dataclass(frozen=True)
class Point:
    key: str
    accuracy: float  # higher is better (accuracy, or agreement with the source without labels)
    latency_ms: float  # lower is better
    size_bytes: int  # lower is better


def dominates(a: Point, b: Point) -> bool:
    """``a`` is no worse than ``b`` on every axis and strictly better on one."""
    no_worse = a.accuracy >= b.accuracy and a.latency_ms <= b.latency_ms and a.size_bytes <= b.size_bytes
    better = a.accuracy > b.accuracy or a.latency_ms < b.latency_ms or a.size_bytes < b.size_bytes
    return no_worse and better


def pareto_front(points: Sequence[Point]) -> list[str]:
    """Keys of the non-dominated points, fastest first."""
    front = [p for p in points if not any(dominates(q, p) for q in points if q is not p)]
    return [p.key for p in sorted(front, key=lambda p: (p.latency_ms, -p.accuracy, p.size_bytes))]
