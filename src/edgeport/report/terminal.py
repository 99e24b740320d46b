"""Terminal (rich) views of results."""

from __future__ import annotations

from typing import Any

__all__ = ["render_study"]


def _fmt(v: Any, spec: str = "{:.4f}") -> str:
    return "—" if v is None else spec.format(v)


def render_study(result: Any, con: Any) -> None:
    from rich.table import Table

    table = Table(title="Recommendation per target", title_justify="left")
    for col in ("target", "pick", "latency", "accuracy", "size", "why"):
        table.add_column(col, overflow="fold")
    for r in result.recommendations:
        if r.key is None:
            table.add_row(r.target, "[red]none[/red]", "—", "—", "—", f"{r.reason}; closest: {', '.join(r.closest)}")
            continue
        lat = f"{r.latency_ms:.4f} ms" if r.measured and r.latency_ms is not None else (
            "not measured here" + (f" (est. {r.estimated_latency_ms:.3g} ms)" if r.estimated_latency_ms else ""))
        size = f"{r.size_bytes / 1e3:.1f} KB" if r.size_bytes else "—"
        table.add_row(r.target, f"[green]{r.key}[/green]", lat, _fmt(r.accuracy, "{:.2%}"), size, r.reason)
    con.print(table)
    cands = Table(title=f"{len(result.candidates)} candidates ({result.resumed} resumed from the store)",
                  title_justify="left")
    cands.add_column("variant", no_wrap=True)
    for col in ("status", "acc", "agree", "max|err|", "median ms", "p99 ms", "size KB"):
        cands.add_column(col, justify="right" if col != "status" else "left")
    for c in sorted(result.candidates, key=lambda c: (c.status != "ok", c.median_ms or 1e9)):
        colour = "green" if c.status == "ok" else "red"
        cands.add_row(c.key + (" ◆" if c.key in result.pareto else ""), f"[{colour}]{c.status}[/{colour}]",
                      _fmt(c.accuracy, "{:.2%}"), _fmt(c.agreement, "{:.2%}"), _fmt(c.max_abs, "{:.2e}"),
                      _fmt(c.median_ms), _fmt(c.latency_ms.p99),
                      _fmt(None if c.size_bytes is None else c.size_bytes / 1e3, "{:.1f}"))
    con.print(cands)
    if result.data_note:
        con.print(f"[yellow]{result.data_note}[/yellow]")
    con.print(f"report: [bold]{result.report_html}[/bold]  (JSON: {result.report_json})")
    con.print(f"study {result.study_id} took {result.seconds:.1f} s")
