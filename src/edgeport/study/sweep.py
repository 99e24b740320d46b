"""``run_sweep``: many models through the same study options, and the fleet report over all of them.

Each model gets its own study (its own output directory, report and store rows, so a sweep resumes
model by model like one study does); the fleet report is one row per model × target — the pick, its
latency (measured here or on the target's device, else estimated, and labelled which), accuracy and
size. With ``executor="ray"`` every model's builds and verifications share the cluster at once, and
every benchmark goes through the same device actors.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgeport.errors import ConfigError
from edgeport.study.options import StudyOptions
from edgeport.study.plan import ProgressHook
from edgeport.study.result import StudyResult
from edgeport.study.study import run_study

__all__ = ["FleetModel", "FleetResult", "FleetRow", "run_sweep"]


@dataclass
class FleetRow:
    """One model on one target: the variant to ship there, or why none qualifies."""

    model: str
    target: str
    pick: str | None  # the candidate key (None: nothing meets the constraints there)
    measured: bool  # latency measured (here or on the target's device), not estimated
    latency_ms: float | None
    accuracy: float | None
    size_bytes: int | None
    format: str | None = None
    precision: str | None = None
    runtime: str | None = None
    reason: str = ""


@dataclass
class FleetModel:
    """One model's study in the sweep."""

    model: str
    study_id: str
    candidates: int
    ok: int
    resumed: int
    source_accuracy: float | None
    report_html: str
    report_json: str


@dataclass
class FleetResult:
    models: list[FleetModel]
    targets: list[str]
    rows: list[FleetRow]
    executor: str
    options: StudyOptions
    out_dir: str
    seconds: float = 0.0
    phase_seconds: dict[str, float] = field(default_factory=dict)  # of the whole sweep (summed over models serially)
    report_json: str = ""
    report_html: str = ""
    kind: str = "fleet"


def run_sweep(models: list[str], options: StudyOptions | None = None, *, store: Any = None,
              progress: ProgressHook | None = None) -> FleetResult:
    """Study every model in ``models`` with ``options`` (its ``model`` and ``out_dir`` set per model: each study
    writes under ``<out_dir>/<model name>/``) and write the fleet report to ``<out_dir>/fleet.{json,html}``."""
    from edgeport.store import Store

    if not models:
        raise ConfigError("no models to sweep", fix="name one or more model files")
    options = options or StudyOptions()
    store = store or Store()
    started = time.perf_counter()
    out = Path(options.out_dir or Path("edgeport-out") / "sweep")
    per_model = [dataclasses.replace(options, model=m, out_dir=str(out / name))
                 for m, name in zip(models, _unique_names(models), strict=True)]
    if options.executor == "ray":
        from edgeport.study.ray_executor import run_studies_on_ray

        results, phases = run_studies_on_ray(per_model, store, progress)
    else:
        results = [run_study(o, store=store, progress=progress) for o in per_model]
        phases = {}
        for r in results:
            for k, v in r.phase_seconds.items():
                phases[k] = round(phases.get(k, 0.0) + v, 3)
    fleet = FleetResult(models=[_model_summary(r) for r in results], targets=list(results[0].targets),
                        rows=[row for r in results for row in _rows(r)], executor=options.executor,
                        options=options, out_dir=str(out), seconds=time.perf_counter() - started,
                        phase_seconds=phases)
    _write(fleet, out)
    return fleet


def _unique_names(models: list[str]) -> list[str]:
    """Each model's output directory name: its file stem, numbered where two stems are the same."""
    names: list[str] = []
    for m in models:
        stem = Path(m).stem.split("-")[0] or "model"
        name, n = stem, 2
        while name in names:
            name, n = f"{stem}-{n}", n + 1
        names.append(name)
    return names


def _model_summary(r: StudyResult) -> FleetModel:
    return FleetModel(r.model, r.study_id, len(r.candidates), sum(c.status == "ok" for c in r.candidates),
                      r.resumed, r.source.accuracy, r.report_html, r.report_json)


def _rows(r: StudyResult) -> list[FleetRow]:
    rows = []
    for rec in r.recommendations:
        pick = r.candidate(rec.key) if rec.key else None
        rows.append(FleetRow(
            model=r.model, target=rec.target, pick=rec.key, measured=rec.measured,
            latency_ms=rec.latency_ms if rec.measured else rec.estimated_latency_ms, accuracy=rec.accuracy,
            size_bytes=rec.size_bytes, format=pick.format if pick else None,
            precision=pick.precision if pick else None, runtime=pick.runtime if pick else None, reason=rec.reason))
    return rows


def _write(fleet: FleetResult, out: Path) -> None:
    from edgeport.report.files import write_report

    fleet.report_json = str(out / "fleet.json")
    fleet.report_html = str(out / "fleet.html")
    write_report("fleet", fleet, Path(fleet.report_json), Path(fleet.report_html))
