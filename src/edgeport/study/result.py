"""What a study returns: typed, and serialised by the report schema to the ``edgeport/study`` document."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from edgeport.study.candidate import Candidate
from edgeport.study.options import StudyOptions
from edgeport.study.recommend import Recommendation

if TYPE_CHECKING:
    from edgeport.analysis.profile import ProfileResult
    from edgeport.bench.conditions import Conditions

__all__ = ["SourceInfo", "StudyResult", "TargetSummary"]


@dataclass
class SourceInfo:
    """The source model as the study measured it on the test split."""

    path: str
    format: str
    size_bytes: int
    samples: int  # test samples every candidate is compared on
    runtime: str | None = None  # the runtime that ran it (None: it could not run here)
    accuracy: float | None = None  # None without labels, or when it could not run
    error: str | None = None  # why it could not run here


@dataclass
class TargetSummary:
    id: str
    name: str
    kind: str
    measured_here: bool
    measured_by: str = ""  # the device address measuring it ("": host, or estimated)


@dataclass
class StudyResult:
    study_id: str
    model: str
    model_format: str
    data: str
    data_note: str
    options: StudyOptions
    source: SourceInfo
    candidates: list[Candidate]
    pareto: list[str]
    recommendations: list[Recommendation]
    conditions: Conditions  # of the machine that measured the candidates
    profile: ProfileResult | None = None
    profile_error: str | None = None  # why the source could not be profiled
    targets: dict[str, TargetSummary] = field(default_factory=dict)
    backends: dict[str, str | None] = field(default_factory=dict)  # runtime / package -> version (in the id)
    out_dir: str = ""
    report_html: str = ""
    report_json: str = ""
    resumed: int = 0
    seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)  # wall time per phase (build+verify, ...)
    constraints_met: bool = True
    calibration: list[str] = field(default_factory=list)  # what the study's measurements added to calibrations
    kind: str = "study"

    def candidate(self, key: str) -> Candidate:
        return next(c for c in self.candidates if c.key == key)
