"""``edgeport optimize`` per model: its pick handed to the model suites so every table gains the
"edgeport's pick" row and the ratio to it (the demo study's CLI wall time is in ``tool_speed``).

The pick must be the fastest measured variant that meets the constraints: the suite checks it
against every candidate of the same study (ratio pick / fastest qualifying = 1).
"""

from __future__ import annotations

import time

from benchmarks.lib import Context, SuiteResult, Table, one_line
from benchmarks.stacks import Candidate

NAME = "study"
TITLE = "edgeport optimize: the recommended variant per model, checked against its own candidates"
ORDER = 15


def _study(ctx: Context, name: str, model: str | None, suite: SuiteResult, table: Table) -> None:
    from edgeport.core.artifact import load_artifact
    from edgeport.store import Store
    from edgeport.study.options import StudyOptions
    from edgeport.study.recommend import rejection_reason
    from edgeport.study.study import run_study

    out = ctx.work_dir / f"study-{name}"
    options = StudyOptions(model=model, targets=("host", "pixel-8", "cortex-m7"), threads=tuple(ctx.threads),
                           out_dir=str(out), resume=False)
    start = time.perf_counter()
    result = run_study(options, store=Store(out / "store.db"))
    wall = time.perf_counter() - start
    host = next(r for r in result.recommendations if r.target == "host")
    qualified = [c for c in result.candidates
                 if rejection_reason(c, "host", options.constraints, result.source.accuracy, host=True) is None]
    fastest = min((c.median_ms for c in qualified if c.median_ms is not None), default=None)
    ok = sum(c.status == "ok" for c in result.candidates)
    table.add(model=name, wall_s=round(wall, 1), ok=f"{ok}/{len(result.candidates)}", pick=host.key or "none",
              pick_ms=host.latency_ms, fastest_ms=fastest,
              ratio=host.latency_ms / fastest if host.latency_ms and fastest else None)
    if host.latency_ms and fastest:
        suite.target(f"{name}: pick slower than the fastest qualifying candidate (ratio - 1)",
                     host.latency_ms / fastest - 1.0, 1e-9, "")
    if host.key is None:
        return
    pick = result.candidate(host.key)
    ctx.shared.setdefault("recommended", {})[name] = Candidate(
        "edgeport pick", pick.runtime, pick.precision, load_artifact(pick.artifact, format=None), how=host.key,
        pick=True)


def run(ctx: Context) -> SuiteResult:
    suite = SuiteResult(NAME, TITLE)
    if ctx.smoke:
        suite.skip("studies", "smoke mode: the study builds every stack (minutes)")
        return suite
    table = Table("Studies (host + pixel-8 + cortex-m7, threads " + ",".join(map(str, ctx.threads)) + ")",
                  [["model", "model"], ["wall_s", "wall s"], ["ok", "candidates ok"], ["pick", "host pick"],
                   ["pick_ms", "pick ms"], ["fastest_ms", "fastest ms"], ["ratio", "pick / fastest"]])
    suite.tables.append(table)
    try:
        _study(ctx, "digits", None, suite, table)
    except Exception as exc:  # recorded; the other suites still run
        suite.skip("digits study", one_line(exc))
    from benchmarks.suites.reference_models import MODELS, _export

    for name in MODELS:
        try:
            model = _export(ctx, name)
            _study(ctx, name, str(model.pt2), suite, table)
        except Exception as exc:
            suite.skip(f"{name} study", one_line(exc))
    suite.notes.append("reference models have no real data here: their studies verify on random inputs and "
                       "skip calibrated int8 builds (edgeport does not ship what it cannot verify)")
    return suite
