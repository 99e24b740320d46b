"""``run_pipeline``: a study per stage, the exact choice per target, then the host run end to end.

On the host the chosen variants run together (sequential, and independent stages in parallel
threads) and are compared with the frame time composed from each stage timed alone in the same
process; on other targets the frame time is composed from the study's per-stage estimates and
labelled estimated. A target where no choice meets the budget gets the closest choices with their
frame times (``PipelineResult.met`` is False: the CLI exits 1).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.core.artifact import Artifact, load_artifact
from edgeport.errors import ConfigError
from edgeport.pipeline.compose import Composed, compose
from edgeport.pipeline.plan import Plan, StageOption, choose, stage_options
from edgeport.pipeline.run import HostRun, depths, run_host, schedule
from edgeport.pipeline.spec import PipelineSpec, StageSpec, checked, load_pipeline

__all__ = ["PipelineResult", "StageStudy", "check_wiring", "run_pipeline"]

# a stage's study is one of several: a short timing per candidate keeps the whole pipeline quick
STAGE_BENCH = {"warmup_runs": 3, "min_runs": 30, "min_seconds": 0.05, "max_runs": 400, "max_seconds": 1.0}


@dataclass
class StageStudy:
    stage: str
    rate: str
    runs_per_frame: float
    study_id: str
    report_html: str | None
    candidates: int
    verified: int
    source_accuracy: float | None
    options: dict[str, list[StageOption]] = field(default_factory=dict)  # target -> Pareto set in budget
    seconds: float = 0.0


@dataclass
class PipelineResult:
    name: str
    budget_ms: float
    budget_kind: str
    frames: int
    levels: list[list[str]]
    stages: list[StageStudy]
    plans: list[Plan]
    host: HostRun | None = None
    # host: [sequential, parallel] from the stages timed in turn, then sequential from them timed back to back,
    # then sequential from the study's medians
    composed: list[Composed] = field(default_factory=list)
    target_composed: dict[str, list[Composed]] = field(default_factory=dict)  # other targets: estimates
    runtimes: list[str] = field(default_factory=list)  # distinct runtimes of the host choice
    # per frame: the stages timed in turn (sharing caches with the other models and runtimes) minus back to back
    mixed_runtime_overhead_ms: float | None = None
    met: bool = False
    out_dir: str = ""
    report_json: str | None = None
    report_html: str | None = None
    seconds: float = 0.0
    kind: str = "pipeline"


def _dims(shape: tuple[Any, ...]) -> str:
    return "x".join(str(d) if isinstance(d, int) and d >= 0 else "?" for d in shape)


def _fits(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    known = (lambda d: isinstance(d, int) and d > 0)
    return len(a) == len(b) and all(not known(x) or not known(y) or x == y for x, y in zip(a, b))


def check_wiring(spec: PipelineSpec, models: dict[str, Artifact]) -> None:
    """Every stage input exists in its model and matches what feeds it (an upstream output or a shape)."""
    for stage in spec.stages:
        ins = {s.name: s for s in models[stage.name].inputs}
        for inp in stage.inputs:
            if inp.name not in ins and len(ins) == 1 and len(stage.inputs) == 1:
                inp_spec = next(iter(ins.values()))
            elif inp.name in ins:
                inp_spec = ins[inp.name]
            else:
                raise ConfigError(f"stage {stage.name}: its model has no input {inp.name!r}",
                                  fix=f"its inputs: {', '.join(ins)}")
            want = tuple(inp_spec.shape)
            if inp.shape is not None:
                if not _fits(inp.shape, want):
                    raise ConfigError(f"stage {stage.name} input {inp.name}: declared shape {_dims(inp.shape)} does "
                                      f"not match the model's {_dims(want)}", fix="declare the model's input shape")
                continue
            outs = {s.name: s for s in models[str(inp.upstream)].outputs}
            if inp.output not in outs:
                raise ConfigError(f"stage {stage.name} input {inp.name}: {inp.upstream} has no output {inp.output!r}",
                                  fix=f"its outputs: {', '.join(outs)}")
            got = tuple(outs[str(inp.output)].shape)
            if not _fits(got, want):
                raise ConfigError(f"stage {stage.name} input {inp.name} ({_dims(want)}) does not match "
                                  f"{inp.upstream} output {inp.output} ({_dims(got)})",
                                  fix="feed it from an output of that shape, or declare the shape the app prepares")


def _study(spec: PipelineSpec, stage: StageSpec, out: Path, store: Any) -> Any:
    from edgeport.study.options import BenchSettings, StudyOptions
    from edgeport.study.study import run_study

    options = StudyOptions(model=stage.model, data=stage.data, targets=spec.targets,
                           threads=stage.threads or spec.threads, formats=stage.formats or spec.formats,
                           precisions=stage.precisions or spec.precisions, runtimes=stage.runtimes or spec.runtimes,
                           out_dir=str(out / "stages" / stage.name), bench=BenchSettings(**STAGE_BENCH),
                           max_verify_samples=200)
    return run_study(options, store=store)


def _feeds(stage: StageSpec, rt: Any, model: Artifact) -> list[dict[str, Any]]:
    from edgeport.data.datasets import load_dataset
    from edgeport.data.synthetic import synthetic_data

    data = load_dataset(stage.data).split("test") if stage.data else synthetic_data(model, count=16)
    specs = rt.input_specs()
    return [data.feeds(specs, index=i, batch_size=1) for i in range(min(32, data.count))]


def _host_run(spec: PipelineSpec, plan: Plan, models: dict[str, Artifact],
              variants: dict[str, tuple[str, int]]) -> HostRun:
    """Run the plan's choice on the host; ``variants``: stage -> (artifact path, threads)."""
    from edgeport.runtimes import RUNTIMES
    from edgeport.runtimes.base import open_runtime

    chosen = {c.stage: c for c in plan.choices}
    feeds: dict[str, list[dict[str, Any]]] = {}

    def open_stage(name: str) -> Any:  # a stage's feeds follow its runtime's input specs, so they come here
        path, threads = variants[name]
        runtime = chosen[name].runtime
        rt = open_runtime(load_artifact(path), runtime, RUNTIMES.get(runtime).Options(threads=threads)).open()
        feeds[name] = _feeds(spec.stage(name), rt, models[name])
        return rt

    return run_host(spec, open_stage, feeds, {n: c.runtime for n, c in chosen.items()})


def run_pipeline(spec: PipelineSpec | str | Path, *, store: Any = None, out_dir: str | Path | None = None,
                 progress: Callable[[str], None] | None = None) -> PipelineResult:
    """Plan ``spec`` (a ``PipelineSpec`` or a ``pipeline.toml`` path) and measure its host choice."""
    started = time.perf_counter()
    spec = checked(spec) if isinstance(spec, PipelineSpec) else load_pipeline(spec)
    out = Path(out_dir or spec.out_dir or Path("edgeport-out") / f"pipeline-{spec.name}")
    models = {s.name: load_artifact(s.model) for s in spec.stages}
    check_wiring(spec, models)
    rates = spec.expected_rates()
    stages: list[StageStudy] = []
    studies: dict[str, Any] = {}
    for stage in spec.stages:
        if progress:
            progress(f"study of stage {stage.name}")
        t = time.perf_counter()
        study = studies[stage.name] = _study(spec, stage, out, store)
        stages.append(StageStudy(stage.name, stage.rate.describe(), rates[stage.name], study.study_id,
                                 study.report_html, len(study.candidates),
                                 sum(c.status == "ok" for c in study.candidates), study.source.accuracy,
                                 seconds=time.perf_counter() - t))
    plans: list[Plan] = []
    for target in spec.targets:
        options: dict[str, list[StageOption]] = {}
        reasons = []
        for stage, record in zip(spec.stages, stages):
            opts, why = stage_options(stage.name, studies[stage.name], target, stage.max_accuracy_drop)
            options[stage.name] = record.options[target] = opts
            if why:
                reasons.append(why)
        if reasons:
            plans.append(Plan(target, target == "host", False, spec.budget_ms, spec.budget_kind,
                              reason="; ".join(reasons)))
            continue
        plans.append(choose(spec, options, target, target == "host", spec.max_total_accuracy_drop))
    result = PipelineResult(spec.name, spec.budget_ms, spec.budget_kind, spec.frames, depths(spec), stages, plans,
                            out_dir=str(out))
    frames = schedule(spec, spec.frames)
    for plan in plans:
        if not plan.choices:
            continue
        if plan.target != "host":
            latency = {c.stage: c.latency_ms for c in plan.choices}
            result.target_composed[plan.target] = [compose(frames, result.levels, latency, m,
                                                           "device-profile estimates", True)
                                                   for m in ("sequential", "parallel")]
            continue
        if progress:
            progress("running the pipeline on the host")
        variants = {}
        for c in plan.choices:
            cand = next(x for x in studies[c.stage].candidates if x.key == c.key)
            variants[c.stage] = (str(cand.artifact), cand.threads)
        host = result.host = _host_run(spec, plan, models, variants)
        result.composed = [compose(frames, result.levels, host.interleaved_ms, m,
                                   "each stage timed in turn with the others on this host", False)
                           for m in ("sequential", "parallel")]
        result.composed.append(compose(frames, result.levels, host.alone_ms, "sequential",
                                       "each stage timed back to back on this host", False))
        result.composed.append(compose(frames, result.levels, {c.stage: c.latency_ms for c in plan.choices},
                                       "sequential", "study medians (bare backend call, batch 1)", False))
        result.runtimes = sorted({c.runtime for c in plan.choices})
        result.mixed_runtime_overhead_ms = result.composed[0].mean_ms - result.composed[2].mean_ms
    result.met = bool(plans) and all(p.met for p in plans)
    result.seconds = time.perf_counter() - started
    _write(result, out)
    return result


def _write(result: PipelineResult, out: Path) -> None:
    from edgeport.report.files import write_report

    result.report_json = str(out / "report.json")
    result.report_html = str(out / "report.html")
    write_report("pipeline", result, Path(result.report_json), Path(result.report_html))
