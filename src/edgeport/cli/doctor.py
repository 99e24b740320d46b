"""``edgeport doctor``: every runtime, converter and pass — available or not, version, the extra to install."""

from __future__ import annotations

from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit


def _render(report: Any, con: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    con.print(f"edgeport {report.edgeport} · Python {report.python} · {report.platform}")
    table = Table(show_lines=False)
    for col in ("kind", "name", "status", "version"):
        table.add_column(col, no_wrap=True)
    table.add_column("install")
    table.add_column("detail", overflow="fold")
    for c in report.components:
        status = "[green]available[/green]" if c.available else (
            "[yellow]no GPU here[/yellow]" if c.kind == "gpu" and "no GPU" in c.detail else "[red]missing[/red]")
        extra = "" if c.available or not c.extra else f'pip install "edgeport[{c.extra}]"'
        table.add_row(c.kind, escape(c.name), status, escape(c.version or ""), escape(extra), escape(c.detail))
    con.print(table)
    missing = report.missing
    if missing:
        extras = sorted({c.extra for c in missing if c.extra})
        con.print(escape(f"{len(missing)} component(s) missing; install: " +
                         ", ".join(f'pip install "edgeport[{e}]"' for e in extras)))
    else:
        con.print("every runtime, converter and pass is available")


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
        """Show which runtimes, converters, passes and GPU providers are available here."""
        from edgeport.doctor import diagnose

        emit(ctx, "doctor", "environment", diagnose(), _render, as_json, save=False)
