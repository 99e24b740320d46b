"""Terminal view of a pipeline result: per-target choice, the host run against its composition, a timeline."""

from __future__ import annotations

from typing import Any

__all__ = ["render_pipeline"]

_BAR = 48  # characters of the timeline for one budget


def _ms(v: float | None) -> str:
    return "—" if v is None else f"{v:.4g} ms"


def render_pipeline(result: Any, con: Any) -> None:
    from rich.table import Table

    kind = "mean frame" if result.budget_kind == "expected" else "every frame"
    con.print(f"[bold]pipeline {result.name}[/bold]: budget {result.budget_ms:.4g} ms ({kind}); "
              f"stages by depth: {' | '.join(', '.join(level) for level in result.levels)}")
    for plan in result.plans:
        label = "measured per stage" if plan.measured else "composed from estimates"
        if not plan.met:
            con.print(f"[red]{plan.target}: {plan.reason}[/red]")
            for c in plan.closest:
                picks = ", ".join(f"{s}={k}" for s, k in c.keys.items())
                con.print(f"  closest: expected {_ms(c.expected_frame_ms)}, worst {_ms(c.worst_frame_ms)} — {picks}")
            continue
        table = Table(title=f"{plan.target} ({label}): expected frame {_ms(plan.expected_frame_ms)}, "
                            f"worst {_ms(plan.worst_frame_ms)}", title_justify="left")
        for col in ("stage", "variant", "latency", "runs/frame", "expected", "acc. drop"):
            table.add_column(col, overflow="fold")
        for c in plan.choices:
            table.add_row(c.stage, c.key, _ms(c.latency_ms), f"{c.runs_per_frame:.3g}", _ms(c.expected_ms),
                          f"{c.accuracy_drop:.2%}")
        con.print(table)
        for why in sorted({f"{c.stage}: {c.why}" for c in plan.choices}):
            con.print(f"  [dim]{why}[/dim]")
    for target, composed in result.target_composed.items():
        parts = ", ".join(f"{c.mode} {_ms(c.mean_ms)} ({c.fps:.0f} FPS)" for c in composed)
        con.print(f"{target}: estimated (device-profile estimates, no interval): {parts}")
    host = result.host
    if host is None:
        return
    resident = "—" if host.resident_mb is None else f"{host.resident_mb:.1f} MB"
    table = Table(title=f"host, {host.frames} frames, every chosen variant resident ({resident})",
                  title_justify="left")
    for col in ("run", "median", "p90", "p99", "FPS", "composed", "composed FPS [95%]"):
        table.add_column(col)
    for run, comp in ((host.sequential, result.composed[0]), (host.parallel, result.composed[1])):
        interval = comp.fps_interval()
        fps = f"{comp.fps:.0f}" + (f" [{interval[0]:.0f}–{interval[1]:.0f}]" if interval else "")
        table.add_row(run.mode, _ms(run.median_ms), _ms(run.p90_ms), _ms(run.p99_ms), f"{run.fps:.0f}",
                      _ms(comp.mean_ms), fps)
    con.print(table)
    runtimes = ", ".join(f"{k} +{v:.1f} MB" for k, v in host.runtime_mb.items())
    con.print(f"composed from each stage timed in turn with the others; runtimes in one process: {runtimes or '—'}; "
              f"sharing the process costs {_ms(result.mixed_runtime_overhead_ms)} per frame (stages in turn − back "
              "to back)")
    _timeline(result, con)
    if result.report_html:
        con.print(f"report: {result.report_html}")


def _timeline(result: Any, con: Any) -> None:
    """The first frames of the sequential run as bars against the budget (one character per budget/_BAR)."""
    frames = result.host.sequential.timeline[:4]
    if not frames:
        return
    scale = _BAR / max(result.budget_ms, max((s.end_ms for f in frames for s in f), default=0.0))
    marks = {name: name[0].upper() for level in result.levels for name in level}
    con.print(f"timeline (sequential; each stage's letter, '|' = budget {result.budget_ms:.4g} ms):")
    for i, spans in enumerate(frames):
        row = [" "] * (_BAR + 1)
        cursor = 0  # every call gets at least one character, after the one before it
        for s in sorted(spans, key=lambda s: s.start_ms):
            start = max(cursor, int(s.start_ms * scale))
            end = max(start + 1, int(s.end_ms * scale))
            for x in range(start, min(end, _BAR + 1)):
                row[x] = marks[s.stage]
            cursor = end
        budget_at = min(_BAR, int(result.budget_ms * scale))
        row[budget_at] = "|" if row[budget_at] == " " else row[budget_at]
        con.print(f"  frame {i}: " + "".join(row).rstrip(), markup=False, highlight=False)
