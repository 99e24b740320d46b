"""Compose a pipeline's frame time from per-stage latencies over the same frames the host runs.

Sequential: a frame costs the sum of the stages that run on it. Parallel: each depth of the graph
costs its slowest running stage, depths add up. With per-stage samples the composition is a
bootstrap: every call of every frame draws one of its stage's samples, and the spread of the mean
frame over ``DRAWS`` such runs is the interval (2.5–97.5 %) the measured mean should fall in. A
device-profile estimate is one number with no spread, so a composition of estimates has no
interval and says so.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["DRAWS", "Composed", "compose"]

DRAWS = 400


@dataclass
class Composed:
    mode: str  # sequential | parallel
    basis: str  # what the per-stage numbers are
    estimated: bool  # True: from estimates, not measurements
    mean_ms: float
    low_ms: float | None = None  # the interval of the mean frame time
    high_ms: float | None = None

    @property
    def fps(self) -> float:
        return 1000.0 / self.mean_ms if self.mean_ms > 0 else 0.0

    def fps_interval(self) -> tuple[float, float] | None:
        if self.low_ms is None or self.high_ms is None or self.low_ms <= 0:
            return None
        return 1000.0 / self.high_ms, 1000.0 / self.low_ms


def compose(frames: list[set[str]], levels: list[list[str]], latency: Mapping[str, Sequence[float] | float],
            mode: str, basis: str, estimated: bool, seed: int = 0) -> Composed:
    """The mean frame time of ``frames`` from per-stage latency: one number, or samples to draw from."""
    rng = np.random.default_rng(seed)
    sampled = all(not isinstance(v, (int, float)) for v in latency.values())
    draws = DRAWS if sampled else 1
    n = len(frames)
    total = np.zeros((draws, n))
    for level in levels:
        cost = np.zeros((draws, n))
        for name in level:
            runs = np.array([name in f for f in frames], dtype=bool)
            value = latency[name]
            if isinstance(value, (int, float)):
                draw = np.full((draws, n), float(value))
            else:
                draw = rng.choice(np.asarray(value, dtype=np.float64), size=(draws, n))
            draw = draw * runs
            cost = np.maximum(cost, draw) if mode == "parallel" else cost + draw
        total += cost
    means = total.mean(axis=1) if n else np.zeros(draws)
    result = Composed(mode, basis, estimated, float(means.mean()))
    if sampled:
        result.low_ms, result.high_ms = (float(v) for v in np.percentile(means, [2.5, 97.5]))
    return result
