"""Choose one variant per stage for a target: an exact search over the stages' Pareto sets.

A stage's options are its study's verified variants within the stage's accuracy budget, reduced
to their accuracy–latency Pareto set. The search is a dynamic programme over the stages: each
partial choice is a state (expected frame time, worst frame time, summed accuracy drop); a state
another beats on all three is dropped, which keeps the search exact and small. Among the states
that meet the frame budget (and the pipeline's summed accuracy budget, if any) the one with the
least expected frame time wins — the expected cost of a stage is its latency times its runs per
frame. When none meets the budget, the closest states are kept with their frame times.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from edgeport.pipeline.spec import PipelineSpec

__all__ = ["ClosestChoice", "Plan", "StageChoice", "StageOption", "choose", "stage_options"]


@dataclass(frozen=True)
class StageOption:
    stage: str
    key: str
    runtime: str
    format: str
    precision: str
    artifact: str
    threads: int
    latency_ms: float
    measured: bool  # False: the device profile's estimate
    accuracy: float | None
    accuracy_drop: float  # vs the stage's source (1 − agreement without labels)


@dataclass
class StageChoice:
    stage: str
    key: str
    runtime: str
    precision: str
    latency_ms: float
    runs_per_frame: float
    expected_ms: float
    accuracy: float | None
    accuracy_drop: float
    why: str


@dataclass
class ClosestChoice:
    expected_frame_ms: float
    worst_frame_ms: float
    keys: dict[str, str]  # stage -> variant key


@dataclass
class Plan:
    target: str
    measured: bool  # host: per-stage measurements; otherwise composed from estimates
    met: bool
    budget_ms: float
    budget_kind: str  # expected | worst
    expected_frame_ms: float | None = None
    worst_frame_ms: float | None = None
    choices: list[StageChoice] = field(default_factory=list)
    closest: list[ClosestChoice] = field(default_factory=list)
    reason: str = ""


def stage_options(stage: str, study: Any, target: str, max_drop: float | None) -> tuple[list[StageOption], str]:
    """The stage's Pareto set on ``target`` within ``max_drop``, and why it is empty when it is."""
    source_acc = study.source.accuracy
    found: list[StageOption] = []
    best_drop: tuple[float, str] | None = None
    for c in study.candidates:
        if c.status != "ok":
            continue
        if target == "host":
            latency, measured = c.median_ms, True
        else:
            fit = c.targets.get(target)
            latency, measured = (fit.estimated_latency_ms if fit is not None and fit.ok else None), False
        if latency is None:
            continue
        drop = (source_acc - c.accuracy) if (source_acc is not None and c.accuracy is not None) else (
            1.0 - (c.agreement if c.agreement is not None else 0.0))
        if best_drop is None or drop < best_drop[0]:
            best_drop = (drop, c.key)
        if max_drop is not None and drop > max_drop + 1e-12:
            continue
        found.append(StageOption(stage, c.key, c.runtime, c.format, c.precision, str(c.artifact), c.threads,
                                 float(latency), measured, c.accuracy, max(0.0, float(drop))))
    if not found:
        why = (f"stage {stage}: no verified variant runs on {target}" if best_drop is None else
               f"stage {stage}: no variant within its accuracy budget on {target} "
               f"(least drop {best_drop[0]:.2%}, {best_drop[1]})")
        return [], why
    pareto = [o for o in found if not any(_beats(q, o) for q in found)]
    return sorted(pareto, key=lambda o: o.latency_ms), ""


def _beats(q: StageOption, o: StageOption) -> bool:
    return (q.latency_ms <= o.latency_ms and q.accuracy_drop <= o.accuracy_drop
            and (q.latency_ms < o.latency_ms or q.accuracy_drop < o.accuracy_drop))


_State = tuple[float, float, float, tuple[StageOption, ...]]  # expected, worst, summed drop, choices


def _prune(states: list[_State]) -> list[_State]:
    states.sort(key=lambda s: (s[0], s[1], s[2]))
    kept: list[_State] = []
    for s in states:
        if not any(k[0] <= s[0] and k[1] <= s[1] and k[2] <= s[2] for k in kept):
            kept.append(s)
    return kept


def choose(spec: PipelineSpec, options: dict[str, list[StageOption]], target: str, measured: bool,
           max_total_drop: float | None = None) -> Plan:
    """The plan for ``target``: the exact best choice, or why there is none and the closest ones."""
    rates = spec.expected_rates()
    plan = Plan(target, measured, False, spec.budget_ms, spec.budget_kind)
    states: list[_State] = [(0.0, 0.0, 0.0, ())]
    for stage in spec.stages:
        opts = options[stage.name]
        states = _prune([(e + rates[stage.name] * o.latency_ms, w + o.latency_ms, d + o.accuracy_drop, (*chs, o))
                         for e, w, d, chs in states for o in opts])
    within = [s for s in states if max_total_drop is None or s[2] <= max_total_drop + 1e-12]
    metric = 0 if spec.budget_kind == "expected" else 1
    if not within:
        pool = sorted(states, key=lambda s: (s[2], s[metric]))[:3]
        plan.closest = [ClosestChoice(s[0], s[1], {o.stage: o.key for o in s[3]}) for s in pool]
        plan.reason = (f"no choice on {target} stays within the summed accuracy budget {max_total_drop:.2%} "
                       f"(the least summed drop is {pool[0][2]:.2%})")
        return plan
    fits = [s for s in within if s[metric] <= spec.budget_ms]
    if not fits:
        pool = sorted(within, key=lambda s: (s[metric], s[0]))[:3]
        plan.closest = [ClosestChoice(s[0], s[1], {o.stage: o.key for o in s[3]}) for s in pool]
        frame = "an expected frame" if metric == 0 else "a worst frame"
        best = pool[0]
        plan.reason = (f"no choice meets the {spec.budget_ms:.4g} ms budget on {target}: the closest takes {frame} "
                       f"of {best[metric]:.4g} ms")
        return plan
    best = min(fits, key=lambda s: (s[0], s[2]))
    plan.met = True
    plan.expected_frame_ms, plan.worst_frame_ms = best[0], best[1]
    for o in best[3]:
        faster = [q for q in options[o.stage] if q.latency_ms < o.latency_ms]
        why = ("the fastest variant within the stage's accuracy budget" if not faster else
               f"{faster[0].key} is faster but the pipeline's accuracy budget rules it out")
        plan.choices.append(StageChoice(o.stage, o.key, o.runtime, o.precision, o.latency_ms, rates[o.stage],
                                        rates[o.stage] * o.latency_ms, o.accuracy, o.accuracy_drop, why))
    return plan
