"""One study candidate's result: built, verified, measured, checked against targets."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Candidate", "TargetFit"]


@dataclass
class TargetFit:
    target: str
    ok: bool
    verdict: str  # one line: "fully delegated to NNAPI", "does not fit: arena 412 KB > 320 KB SRAM", ...
    estimated_latency_ms: float | None = None  # from the device profile: an estimate, never a measurement
    details: dict[str, Any] = field(default_factory=dict)


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
    latency_ms: dict[str, float] = field(default_factory=dict)  # median, p90, p99, ci_low, ci_high, mean
    latency_samples_ms: list[float] = field(default_factory=list)  # subsample for the distribution plot
    throughput: float | None = None
    load_ms: float | None = None
    peak_rss_mb: float | None = None
    runtime_info: dict[str, Any] = field(default_factory=dict)
    lineage: list[dict[str, Any]] = field(default_factory=list)
    targets: dict[str, TargetFit] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def median_ms(self) -> float | None:
        return self.latency_ms.get("median")

    def quality(self) -> float | None:
        """Accuracy when labels exist, else agreement with the source."""
        return self.accuracy if self.accuracy is not None else self.agreement

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Candidate:
        targets = {k: TargetFit(**v) for k, v in (data.get("targets") or {}).items()}
        fields = {k: v for k, v in data.items() if k in cls.__dataclass_fields__ and k != "targets"}
        return cls(**fields, targets=targets)
