"""A pipeline: several models per frame, their wiring and rates, a frame budget, targets.

Parsed from a ``pipeline.toml`` into these types (or built in Python). The graph is checked here,
once, before any study runs: unknown upstream stages, cycles, and an input wired to an upstream
output of another shape are refused with one line naming both ends.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.core.inputs import parse_shape
from edgeport.errors import ConfigError
from edgeport.study.options import parse_percent

__all__ = ["PipelineSpec", "Rate", "StageInput", "StageSpec", "load_pipeline", "stage_order"]

_STUDY_FIELDS = ("formats", "precisions", "runtimes", "threads")


@dataclass(frozen=True)
class Rate:
    """How often a stage runs: every frame, every ``every``-th frame, or when stage ``when`` ran and fired
    (with ``probability``: the fraction of its runs on which it fires)."""

    every: int = 1
    when: str | None = None
    probability: float = 1.0

    def describe(self) -> str:
        if self.when is not None:
            return f"when {self.when} fires (p={self.probability:g})"
        return "every frame" if self.every == 1 else f"once every {self.every} frames"


@dataclass(frozen=True)
class StageInput:
    """One model input: fed from an upstream stage's output tensor, or of a declared shape (from the stage's
    data: what the application prepares, e.g. crops around an upstream detection)."""

    name: str
    upstream: str | None = None  # stage name
    output: str | None = None  # that stage's output tensor
    shape: tuple[int, ...] | None = None


@dataclass(frozen=True)
class StageSpec:
    name: str
    model: str
    data: str | None = None  # .npz or built-in name; None: random inputs (agreement only, no accuracy)
    inputs: tuple[StageInput, ...] = ()
    after: tuple[str, ...] = ()  # stages whose results the application uses to prepare this stage's input
    rate: Rate = field(default_factory=Rate)
    max_accuracy_drop: float | None = None
    formats: tuple[str, ...] = ()  # this stage's study: allowlists (empty: the pipeline's)
    precisions: tuple[str, ...] = ()
    runtimes: tuple[str, ...] = ()
    threads: tuple[int, ...] = ()

    def upstreams(self) -> tuple[str, ...]:
        """Every stage this one waits for in a frame (inputs, ``after``, ``when``), in first-named order."""
        names = [i.upstream for i in self.inputs if i.upstream] + list(self.after)
        if self.rate.when:
            names.append(self.rate.when)
        return tuple(dict.fromkeys(names))


@dataclass(frozen=True)
class PipelineSpec:
    name: str
    stages: tuple[StageSpec, ...]
    fps: float | None = None  # budget on the expected frame time: 1000 / fps ms
    max_frame_ms: float | None = None  # budget on the worst frame (every stage fires)
    targets: tuple[str, ...] = ("host",)
    formats: tuple[str, ...] = ("onnx",)  # per-stage study defaults: small on purpose (a study per stage)
    precisions: tuple[str, ...] = ("fp32", "int8")
    runtimes: tuple[str, ...] = ("onnxruntime",)
    threads: tuple[int, ...] = (1,)
    max_total_accuracy_drop: float | None = None  # summed over stages (each stage's own budget applies too)
    frames: int = 300  # frames the host run measures, each way
    seed: int = 0  # the firing draws of "when" stages in the host run
    out_dir: str | None = None

    @property
    def budget_ms(self) -> float:
        return 1000.0 / self.fps if self.fps else float(self.max_frame_ms or 0.0)

    @property
    def budget_kind(self) -> str:
        """``expected`` (fps: the mean frame must fit) or ``worst`` (max_frame_ms: the frame where all fire)."""
        return "expected" if self.fps else "worst"

    def stage(self, name: str) -> StageSpec:
        return next(s for s in self.stages if s.name == name)

    def expected_rates(self) -> dict[str, float]:
        """Runs per frame of each stage: a stage runs on frame f when f is a multiple of its ``every`` and of
        those of the stages it waits on (``when``, transitively) — 1/lcm of them — and each of those firings
        happens with its probability."""
        rates: dict[str, float] = {}
        for s in stage_order(self):
            period, chance, link = 1, 1.0, s
            while True:
                period = math.lcm(period, link.rate.every)
                if link.rate.when is None:
                    break
                chance *= link.rate.probability
                link = self.stage(link.rate.when)
            rates[s.name] = chance / period
        return rates


def stage_order(spec: PipelineSpec) -> list[StageSpec]:
    """The stages in an order where each comes after every stage it waits for; a cycle is refused."""
    by_name = {s.name: s for s in spec.stages}
    done: list[StageSpec] = []
    state: dict[str, int] = {}  # 1 visiting, 2 done

    def visit(name: str, path: list[str]) -> None:
        if state.get(name) == 2:
            return
        if state.get(name) == 1:
            loop = path[path.index(name):] + [name]
            raise ConfigError(f"pipeline {spec.name}: the stage graph has a cycle ({' -> '.join(loop)})",
                              fix="a stage can only take inputs from stages before it; break the loop")
        state[name] = 1
        for up in by_name[name].upstreams():
            visit(up, [*path, name])
        state[name] = 2
        done.append(by_name[name])

    for s in spec.stages:
        visit(s.name, [])
    return done


def _check(spec: PipelineSpec) -> PipelineSpec:
    names = [s.name for s in spec.stages]
    if not names:
        raise ConfigError(f"pipeline {spec.name}: no stages", fix="add [[stage]] tables")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"pipeline {spec.name}: stage name {dupes[0]!r} is used twice", fix="name stages uniquely")
    if (spec.fps is None) == (spec.max_frame_ms is None) or spec.budget_ms <= 0:
        raise ConfigError(f"pipeline {spec.name}: give exactly one positive frame budget",
                          fix="fps = 20 (the mean frame must fit) or max_frame_ms = 50 (every frame must fit)")
    for s in spec.stages:
        for up in s.upstreams():
            if up not in names:
                raise ConfigError(f"stage {s.name}: upstream stage {up!r} does not exist",
                                  fix=f"stages: {', '.join(names)}")
        if s.rate.every < 1 or not 0.0 < s.rate.probability <= 1.0:
            raise ConfigError(f"stage {s.name}: every must be >= 1 and probability in (0, 1]",
                              fix="e.g. every = 3, or when = 'detector' with probability = 0.4")
    stage_order(spec)
    return spec


def _stage_input(stage: str, name: str, value: Any) -> StageInput:
    if isinstance(value, list):
        return StageInput(name, shape=tuple(int(v) for v in value))
    text = str(value).strip()
    if text and (text[0].isdigit()):
        return StageInput(name, shape=parse_shape(text, name=name))
    up, _, out = text.partition(".")
    if not up or not out:
        raise ConfigError(f"stage {stage}: input {name} = {value!r} is neither a shape nor STAGE.OUTPUT",
                          fix='write a shape ("1x1x8x8") or an upstream output ("detector.logits")')
    return StageInput(name, upstream=up, output=out)


def _stage(table: dict[str, Any], where: str, base: Path) -> StageSpec:
    known = {"name", "model", "data", "inputs", "after", "every", "when", "probability", "max_accuracy_drop",
             *_STUDY_FIELDS}
    extra = sorted(set(table) - known)
    if extra:
        raise ConfigError(f"{where}: unknown field {extra[0]!r}", fix=f"known fields: {', '.join(sorted(known))}")
    for need in ("name", "model"):
        if need not in table:
            raise ConfigError(f"{where}: missing {need!r}", fix="every [[stage]] needs name and model")
    name = str(table["name"])
    model = Path(str(table["model"]))
    data = table.get("data")
    if data is not None and not Path(str(data)).is_absolute() and (base / str(data)).exists():
        data = str(base / str(data))
    inputs = table.get("inputs", {})
    if not isinstance(inputs, dict):
        raise ConfigError(f"{where}: inputs must be a table", fix='inputs = { x = "1x1x8x8" }')
    rate = Rate(every=int(table.get("every", 1)), when=table.get("when"),
                probability=float(table.get("probability", 1.0)))
    return StageSpec(name=name, model=str(model if model.is_absolute() else base / model), data=data,
                     inputs=tuple(_stage_input(name, k, v) for k, v in inputs.items()),
                     after=tuple(table.get("after", ())), rate=rate,
                     max_accuracy_drop=parse_percent(table.get("max_accuracy_drop")),
                     **{k: tuple(table[k]) for k in _STUDY_FIELDS if k in table})


def load_pipeline(path: str | Path) -> PipelineSpec:
    """Parse ``pipeline.toml`` (a ``[pipeline]`` table and ``[[stage]]`` tables); paths resolve from the file."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such pipeline file", fix="check the path (or run 'edgeport pipeline --example')")
    try:
        doc = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML ({exc})", fix="fix the file's syntax at that line") from exc
    head = doc.get("pipeline", {})
    known = {f.name for f in dataclasses.fields(PipelineSpec)} - {"stages"}
    extra = sorted(set(head) - known)
    if extra:
        raise ConfigError(f"{p}: [pipeline]: unknown field {extra[0]!r}", fix=f"known: {', '.join(sorted(known))}")
    stages = tuple(_stage(t, f"{p}: stage {i + 1}", p.parent) for i, t in enumerate(doc.get("stage", [])))
    fields = {k: tuple(v) if isinstance(v, list) else v for k, v in head.items()}
    if "max_total_accuracy_drop" in fields:
        fields["max_total_accuracy_drop"] = parse_percent(fields["max_total_accuracy_drop"])
    fields.setdefault("name", p.stem)
    return _check(PipelineSpec(stages=stages, **fields))


def checked(spec: PipelineSpec) -> PipelineSpec:
    """``spec`` after the graph checks (for a spec built in Python)."""
    return _check(spec)
