"""Typed study options; a recipe file (TOML) is parsed into exactly these types."""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.core.inputs import InputPlan
from edgeport.errors import ConfigError

__all__ = ["EXECUTORS", "QUICK_BENCH", "BenchSettings", "Constraints", "StudyOptions", "load_recipe",
           "parse_percent"]

# serial: this process (conversions a few at a time, then one candidate after another);
# ray: builds and verifications as Ray tasks, benchmarks on one Ray actor per measured device
EXECUTORS = ("serial", "ray")


@dataclass(frozen=True)
class Constraints:
    max_latency_ms: float | None = None
    max_accuracy_drop: float | None = None  # absolute fraction: 0.005 = half a point
    max_size_mb: float | None = None
    max_energy_mj: float | None = None  # per inference: measured on the host where RAPL is readable, else estimated


@dataclass(frozen=True)
class BenchSettings:
    """How long each candidate is timed: until ``min_runs`` and ``min_seconds`` have both passed,
    stopping at ``max_runs`` or after ``max_seconds`` — whichever comes first.

    ``max_seconds`` keeps a candidate that is far slower than the rest (an untuned TVM module of a
    224² CNN runs ≈ 1.8 s per inference) from costing minutes: it still gets a median from the
    runs that fit, and its sample count is in the report.
    """

    warmup_runs: int = 5
    min_runs: int = 30
    min_seconds: float = 0.3
    max_runs: int = 2000
    max_seconds: float = 10.0


QUICK_BENCH = BenchSettings(warmup_runs=2, min_runs=10, min_seconds=0.05, max_runs=200, max_seconds=5.0)


@dataclass(frozen=True)
class StudyOptions:
    """What a study does. These defaults are the CLI's too (``edgeport optimize`` reads them)."""

    model: str | None = None  # None: the built-in digits example
    data: str | None = None  # .npz path or built-in name; None with the example: digits
    targets: tuple[str, ...] = ("host", "pixel-8", "cortex-m7")  # measured here, a phone, a microcontroller
    constraints: Constraints = field(default_factory=Constraints)
    threads: tuple[int, ...] = (1, 2)
    formats: tuple[str, ...] = ()  # allowlist; empty: every installed format
    precisions: tuple[str, ...] = ()
    runtimes: tuple[str, ...] = ()
    out_dir: str | None = None  # default: edgeport-out/<model name>
    bench: BenchSettings = field(default_factory=BenchSettings)
    max_verify_samples: int | None = None
    resume: bool = True
    build_workers: int | None = None  # conversions run this many at a time before measuring (None: up to 2)
    inputs: InputPlan = field(default_factory=InputPlan)  # input shapes/values (a recipe's [inputs] table)
    device: str | None = None  # "agent://HOST:PORT": measure every target but host on this device, not estimate it
    executor: str = "serial"  # one of EXECUTORS
    ray_address: str | None = None  # an existing Ray cluster ("ray://HOST:10001", "auto"); None: a local one
    artifact_root: str | None = None  # where Ray builds land (a path every node shares); None: <out_dir>/variants
    calibrate: bool = True  # add the measured candidates to the stored calibrations of where they ran

    def __post_init__(self) -> None:
        if self.executor not in EXECUTORS:
            raise ConfigError(f"unknown executor {self.executor!r}", fix=f"use one of: {', '.join(EXECUTORS)}")

    def fingerprint_fields(self) -> dict[str, Any]:
        """What identifies the study's candidates for resuming.

        Constraints only change the recommendation, not any candidate, so re-running with other
        constraints re-uses every measured candidate; where it writes, whether it resumes and what runs it
        (serial or Ray, and where) don't count, so a serial run and a Ray run resume each other.
        """
        data = dataclasses.asdict(self)
        for key in ("out_dir", "resume", "constraints", "targets", "build_workers", "device", "executor",
                    "ray_address", "artifact_root", "calibrate"):
            data.pop(key)
        return data


def parse_percent(text: str | float | None) -> float | None:
    """``0.5%`` → 0.005; ``0.005`` → 0.005."""
    if text is None or text == "":
        return None
    if isinstance(text, (int, float)):
        return float(text)
    raw = text.strip()
    try:
        return float(raw[:-1]) / 100.0 if raw.endswith("%") else float(raw)
    except ValueError:
        raise ConfigError(f"{text!r} is not a number or a percentage", fix="e.g. 0.5% or 0.005") from None


_SECTIONS = {"constraints": Constraints, "bench": BenchSettings}


def _build(cls: type, data: dict[str, Any], where: str) -> Any:
    names = {f.name: f for f in dataclasses.fields(cls)}
    kwargs: dict[str, Any] = {}
    for key, value in data.items():
        if key not in names:
            raise ConfigError(f"{where}: unknown field {key!r}", fix=f"known fields: {', '.join(sorted(names))}")
        if key in _SECTIONS and cls is StudyOptions:
            if not isinstance(value, dict):
                raise ConfigError(f"{where}: field {key!r} must be a table", fix=f"write it as [study.{key}]")
            value = _build(_SECTIONS[key], value, f"{where}.{key}")
        elif key == "max_accuracy_drop":
            value = parse_percent(value)
        elif isinstance(value, list):
            value = tuple(value)
        kwargs[key] = value
    try:
        return cls(**kwargs)
    except TypeError as exc:
        raise ConfigError(f"{where}: {exc}", fix="check the recipe against the documented fields") from exc


def _inputs_table(table: Any, where: str) -> InputPlan:
    """``[inputs]``: ``shape = {x = "1x3x640x640"}``, ``value = {sr = 16000}``, ``batch = 1``."""
    known = ("shape", "value", "batch")
    if not isinstance(table, dict) or set(table) - set(known):
        extra = sorted(set(table) - set(known)) if isinstance(table, dict) else table
        raise ConfigError(f"{where}: unknown field(s) {extra}", fix='known: shape = {x = "1x3x640x640"}, '
                                                                  'value = {sr = 16000}, batch = 1')
    for key in ("shape", "value"):
        if not isinstance(table.get(key, {}), dict):
            raise ConfigError(f"{where}: {key} must be a table of input names", fix=f'e.g. {key} = {{x = "..."}}')
    return InputPlan.parse(table.get("shape"), table.get("value"), table.get("batch"))


def load_recipe(path: str | Path) -> StudyOptions:
    """Parse a recipe file (``[study]`` table) into ``StudyOptions``; relative paths resolve from the file."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p}: no such recipe file", fix="check the path")
    try:
        doc = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: invalid TOML ({exc})", fix="fix the recipe syntax at that line") from exc
    if "study" not in doc or not isinstance(doc["study"], dict):
        raise ConfigError(f"{p}: no [study] table", fix="put the options under a [study] table")
    opts: StudyOptions = _build(StudyOptions, doc["study"], f"{p}: [study]")
    if "inputs" in doc:
        opts = dataclasses.replace(opts, inputs=_inputs_table(doc["inputs"], f"{p}: [inputs]"))
    base = p.parent
    updates: dict[str, Any] = {}
    for key in ("model", "data", "out_dir", "artifact_root"):
        value = getattr(opts, key)
        if value and not Path(value).is_absolute() and (key != "data" or (base / value).exists()):
            updates[key] = str(base / value)
    return dataclasses.replace(opts, **updates)
