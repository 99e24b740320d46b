from __future__ import annotations

import numpy as np

from edgeport.study.pareto import Point, dominates, pareto_front


def test_front_is_exactly_the_non_dominated_set() -> None:
    rng = np.random.default_rng(0)
    for trial in range(20):
        pts = [Point(f"p{i}", float(rng.integers(0, 5)) / 4, float(rng.integers(1, 8)), int(rng.integers(1, 6)))
               for i in range(25)]
        front = set(pareto_front(pts))
        by_key = {p.key: p for p in pts}
        for k in front:  # nothing dominates a frontier point
            assert not any(dominates(q, by_key[k]) for q in pts), trial
        for p in pts:  # every point off the frontier is dominated by someone
            if p.key not in front:
                assert any(dominates(q, p) for q in pts), trial


def test_dominance_needs_one_strict_improvement() -> None:
    a = Point("a", 0.9, 1.0, 100)
    assert not dominates(a, Point("b", 0.9, 1.0, 100))
    assert dominates(a, Point("c", 0.9, 1.0, 101))
    assert not dominates(a, Point("d", 0.95, 2.0, 50))
    assert pareto_front([a, Point("d", 0.95, 2.0, 50)]) == ["a", "d"]
