"""``edgeport report RUN``: re-render a stored run's HTML and JSON from the store."""

from __future__ import annotations

import typer

from edgeport.cli._common import store_from


def register(app: typer.Typer) -> None:
    app.command("report")(report)


def report(ctx: typer.Context, run: int = typer.Argument(..., help="Run id (see 'edgeport history')."),
           out: str = typer.Option(None, "--out", "-o", help="Output directory [edgeport-out/run-<id>]."),
           ) -> None:
    """Re-render a stored run (study, verification, benchmark...) as HTML + JSON."""
    import json
    from pathlib import Path

    from edgeport.report.files import atomic_write_text
    from edgeport.report.html import render

    record = store_from(ctx).get(run)
    out_dir = Path(out or f"edgeport-out/run-{run}")
    json_path = atomic_write_text(out_dir / "report.json", json.dumps(record.document, indent=1))
    html_path = atomic_write_text(out_dir / "report.html", render(record.document))
    typer.echo(f"{record.kind} run {run}: {html_path} (JSON: {json_path})")
