"""One study candidate's result: built, verified, measured, checked against targets.

Every field is typed; ``to_json`` (report schema) turns a candidate into the stored document and
``Candidate.from_json`` reads it back (the resume path), so the two must stay inverse.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from edgeport.predict.estimate import Estimate

__all__ = ["Candidate", "LatencySummary", "LineageEntry", "LineageStep", "TargetFit", "TargetMeasurement",
           "TimingWindow"]


@dataclass
class TimingWindow:
    """Which machine timed a benchmark and when (wall clock, seconds since the epoch): one device's windows
    never overlap, so no two timings shared it (a study on Ray sends every timing on a device through one
    actor that runs one call at a time)."""

    node: str  # the host name, and on Ray the node that measured
    start: float
    end: float

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> TimingWindow | None:
        return None if not data else cls(str(data["node"]), float(data["start"]), float(data["end"]))


@dataclass
class TargetFit:
    target: str
    ok: bool
    verdict: str  # one line: "fully delegated to NNAPI", "does not fit: arena 412 KB > 320 KB SRAM", ...
    estimated_latency_ms: float | None = None  # from the device profile: an estimate, never a measurement
    details: dict[str, Any] = field(default_factory=dict)
    estimate: Estimate | None = None  # the estimate with its interval, label and energy
    measured: TargetMeasurement | None = None  # the artifact verified and benchmarked on the target's device

    @property
    def measured_ms(self) -> float | None:
        """The median latency measured on the target's device (None: not measured there, or it failed)."""
        m = self.measured
        return m.latency_ms.median if m is not None and m.error is None else None


@dataclass
class LatencySummary:
    """A candidate's host latency in ms (every field None until it was measured)."""

    median: float | None = None
    p90: float | None = None
    p99: float | None = None
    mean: float | None = None
    ci95_low: float | None = None
    ci95_high: float | None = None
    cv: float | None = None
    min: float | None = None  # the fastest run: what a latency calibration takes (``predict.calibrate``)

    @classmethod
    def of(cls, stats: Any) -> LatencySummary:
        """From a benchmark's ``LatencyStats``."""
        return cls(**{f.name: getattr(stats, f.name) for f in dataclasses.fields(cls)})


@dataclass
class TargetMeasurement:
    """One artifact verified and benchmarked on a target's own device (an agent, the browser)."""

    device: str  # the device address: "agent://HOST:PORT", "browser"
    runtime: str  # the runtime that ran it there
    threads: int | None = None
    latency_ms: LatencySummary = field(default_factory=LatencySummary)
    load_ms: float | None = None
    verified: bool = False
    agreement: float | None = None  # top-1 agreement with the source on the device
    max_abs: float | None = None
    verification_failures: list[str] = field(default_factory=list)
    error: str | None = None  # why it could not be measured there (one line)
    device_fault: bool = False  # the device failed, not the model: the next run measures it again
    runtime_info: dict[str, Any] = field(default_factory=dict)
    conditions: dict[str, Any] = field(default_factory=dict)  # the device's timing conditions
    timed: TimingWindow | None = None  # the node that sent the job to the device, and when

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> TargetMeasurement:
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["timed"] = TimingWindow.from_json(data.get("timed"))
        fields["latency_ms"] = LatencySummary(**{k: _number(v) for k, v in (data.get("latency_ms") or {}).items()
                                                 if k in LatencySummary.__dataclass_fields__})
        for name in ("load_ms", "agreement", "max_abs"):
            fields[name] = _number(fields.get(name))
        return cls(**fields)


@dataclass
class LineageStep:
    """The step that made one artifact of a lineage from the one before it."""

    kind: str  # convert | pass | train | export
    name: str
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class LineageEntry:
    """One artifact in the chain from the source model to the candidate (source first)."""

    path: str
    format: str
    step: LineageStep | None = None

    @classmethod
    def of(cls, artifact: Any) -> LineageEntry:
        step = artifact.step
        return cls(str(artifact.path), artifact.format.value,
                   None if step is None else LineageStep(step.kind, step.name, dict(step.options)))


@dataclass
class Candidate:
    key: str
    build: str
    format: str
    precision: str
    runtime: str
    threads: int
    status: str = "pending"  # ok | failed | diverged
    error: str | None = None
    stage: str | None = None  # where it failed: build | verify | bench
    artifact: str | None = None
    size_bytes: int | None = None
    accuracy: float | None = None  # task accuracy on the test split (None without labels)
    agreement: float | None = None  # top-1 agreement with the source
    accuracy_delta: float | None = None
    max_abs: float | None = None
    cosine: float | None = None
    snr_db: float | None = None
    verified: bool = False
    verification_failures: list[str] = field(default_factory=list)
    latency_ms: LatencySummary = field(default_factory=LatencySummary)
    latency_samples_ms: list[float] = field(default_factory=list)  # subsample for the distribution plot
    throughput: float | None = None
    load_ms: float | None = None
    peak_rss_mb: float | None = None
    runtime_info: dict[str, Any] = field(default_factory=dict)
    energy_mj: float | None = None  # per inference on this host, measured (RAPL) or None
    energy_label: str = ""  # "measured (RAPL …)" or "unavailable: why"
    lineage: list[LineageEntry] = field(default_factory=list)
    targets: dict[str, TargetFit] = field(default_factory=dict)
    seconds: float = 0.0
    timed: TimingWindow | None = None  # where and when its host benchmark ran

    @property
    def median_ms(self) -> float | None:
        return self.latency_ms.median

    def quality(self) -> float | None:
        """Accuracy when labels exist, else agreement with the source."""
        return self.accuracy if self.accuracy is not None else self.agreement

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Candidate:
        """The candidate a stored document describes (the inverse of the report schema's ``to_json``)."""
        fields = {k: _number(v) if k in _FLOAT_FIELDS else v for k, v in data.items() if k in cls.__dataclass_fields__}
        fields["targets"] = {k: _target_fit(v) for k, v in (data.get("targets") or {}).items()}
        fields["timed"] = TimingWindow.from_json(data.get("timed"))
        fields["latency_ms"] = LatencySummary(**{k: _number(v) for k, v in (data.get("latency_ms") or {}).items()
                                                 if k in LatencySummary.__dataclass_fields__})
        fields["lineage"] = [LineageEntry(e["path"], e["format"], None if not e.get("step") else LineageStep(
            e["step"]["kind"], e["step"]["name"], dict(e["step"].get("options") or {})))
            for e in data.get("lineage") or []]
        return cls(**fields)


def _target_fit(data: Mapping[str, Any]) -> TargetFit:
    from edgeport.predict.estimate import Estimate

    est, measured = data.get("estimate"), data.get("measured")
    fields = {k: v for k, v in data.items() if k in TargetFit.__dataclass_fields__ and k not in ("estimate", "measured")}
    fields["measured"] = None if measured is None else TargetMeasurement.from_json(measured)
    if est is None:
        return TargetFit(**fields)
    numbers = {k: _number(v) if isinstance(v, str) and k.endswith(("_ms", "_mj")) else v for k, v in est.items()
               if k in Estimate.__dataclass_fields__}
    return TargetFit(**fields, estimate=Estimate(**numbers))


_FLOAT_FIELDS = frozenset(f.name for f in dataclasses.fields(Candidate) if str(f.type).startswith("float"))


def _number(value: Any) -> float | None:
    """A JSON number back to a float (the schema writes non-finite floats as strings)."""
    if value is None or isinstance(value, (int, float)):
        return value
    return float(value)  # "inf", "-inf", "nan"
