"""The pipeline's choice is exact: the dynamic programme agrees with trying every combination."""

from __future__ import annotations

import itertools
import random

import pytest

from edgeport.errors import ConfigError
from edgeport.pipeline.plan import StageOption, choose
from edgeport.pipeline.spec import PipelineSpec, Rate, StageSpec, checked


def _spec(**budget: float) -> PipelineSpec:
    stages = (StageSpec("a", "a.onnx"), StageSpec("b", "b.onnx", rate=Rate(when="a", probability=0.5)),
              StageSpec("c", "c.onnx", rate=Rate(every=3)))
    return checked(PipelineSpec("t", stages, max_total_accuracy_drop=0.03, **budget))


def _options(rng: random.Random) -> dict[str, list[StageOption]]:
    return {s: [StageOption(s, f"{s}{i}", "onnxruntime", "onnx", "int8", "x", 1, rng.uniform(0.5, 5.0), True, None,
                            rng.choice([0.0, 0.005, 0.01, 0.02, 0.03])) for i in range(4)] for s in "abc"}


@pytest.mark.parametrize("seed", range(20))
def test_the_choice_is_the_best_combination(seed: int) -> None:
    rng = random.Random(seed)
    options = _options(rng)
    spec = _spec(fps=1000.0 / rng.uniform(2.0, 8.0)) if seed % 2 else _spec(max_frame_ms=rng.uniform(3.0, 12.0))
    rates = spec.expected_rates()
    assert rates == {"a": 1.0, "b": 0.5, "c": pytest.approx(1 / 3)}
    best, accurate = None, False
    for combo in itertools.product(*(options[s] for s in "abc")):
        expected = sum(rates[o.stage] * o.latency_ms for o in combo)
        worst = sum(o.latency_ms for o in combo)
        if sum(o.accuracy_drop for o in combo) > 0.03 + 1e-12:
            continue
        accurate = True
        if (expected if spec.budget_kind == "expected" else worst) > spec.budget_ms:
            continue
        if best is None or expected < best[0]:
            best = (expected, combo)
    plan = choose(spec, options, "host", True, spec.max_total_accuracy_drop)
    if not accurate:
        assert not plan.met and "summed accuracy budget" in plan.reason
    elif best is None:
        assert not plan.met and plan.closest and "no choice meets" in plan.reason
        metric = [c.expected_frame_ms if spec.budget_kind == "expected" else c.worst_frame_ms for c in plan.closest]
        assert metric == sorted(metric) and metric[0] > spec.budget_ms
    else:
        assert plan.met and plan.expected_frame_ms == pytest.approx(best[0])


def test_a_stage_waiting_on_an_unknown_one_is_refused() -> None:
    stages = (StageSpec("a", "a.onnx", rate=Rate(when="ghost")),)
    with pytest.raises(ConfigError, match="upstream stage 'ghost' does not exist"):
        checked(PipelineSpec("t", stages, fps=30))


def test_expected_rates_match_the_frames_the_host_runs() -> None:
    from edgeport.pipeline.run import schedule

    stages = (StageSpec("a", "a.onnx", rate=Rate(every=2)), StageSpec("b", "b.onnx", rate=Rate(every=2, when="a",
                                                                                               probability=0.5)),
              StageSpec("c", "c.onnx", rate=Rate(every=3, when="b", probability=0.5)))
    spec = checked(PipelineSpec("t", stages, fps=30, frames=6000))
    rates = spec.expected_rates()
    assert rates == pytest.approx({"a": 1 / 2, "b": 1 / 4, "c": 1 / 24})
    frames = schedule(spec, spec.frames)
    for name, rate in rates.items():
        assert sum(name in f for f in frames) / len(frames) == pytest.approx(rate, abs=0.015)
