"""``edgeport history``: past runs from the result store; ``edgeport history show ID`` prints one."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit, store_from


@dataclass
class HistoryEntry:
    id: int
    kind: str
    subject: str
    created: float
    passed: bool | None
    summary: str


@dataclass
class HistoryList:
    store: str
    runs: list[HistoryEntry] = field(default_factory=list)
    kind: str = "history"


def _summary(kind: str, data: dict[str, Any]) -> str:
    """One line per stored run, from its JSON document (tolerant: documents evolve)."""
    try:
        if kind == "bench":
            parts = [f"{r['runtime']}@{r.get('threads') or 'default'} {r['latency_ms']['median']:.4g} ms"
                     for r in data.get("rows", [])]
            loaded = any(r.get("conditions", {}).get("loaded") for r in data.get("rows", []))
            return ", ".join(parts) + (" (loaded machine)" if loaded else "")
        if kind == "conversion":
            ver = data.get("verification") or {}
            path = " → ".join(data.get("path_taken", []))
            return f"{path}; " + ("verified" if ver.get("passed") else ("FAILED" if ver else "not verified"))
        if kind == "verification":
            acc = data.get("test_accuracy")
            return ("passed" if data.get("passed") else "FAILED") + (f", accuracy {acc:.2%}" if acc else "")
    except (KeyError, TypeError, ValueError):
        pass
    keys = [k for k in data if not isinstance(data[k], (dict, list))][:4]
    return ", ".join(f"{k}={data[k]}" for k in keys)


def register(app: typer.Typer) -> None:
    history_app = typer.Typer(help="List past runs (edgeport history) or show one (edgeport history show ID).",
                              add_completion=False)

    @history_app.callback(invoke_without_command=True)
    def history(ctx: typer.Context,
                kind: str = typer.Option(None, "--kind", help="Only runs of this kind (bench, conversion, ...)."),
                limit: int = typer.Option(20, "--limit", help="How many runs, newest first."),
                as_json: bool = JSON_OPTION) -> None:
        """List past runs, newest first."""
        if ctx.invoked_subcommand is not None:
            return
        from edgeport.errors import ConfigError
        from edgeport.report.terminal import render_history

        if limit < 1:
            raise ConfigError(f"--limit must be ≥ 1, got {limit}", fix="e.g. --limit 20")
        store = store_from(ctx)
        runs = [HistoryEntry(r.id, r.kind, r.subject, r.created, r.passed, _summary(r.kind, r.document.get("data", {})))
                for r in store.runs(kind, limit)]
        emit(ctx, "history", str(store.path), HistoryList(str(store.path), runs), render_history, as_json, save=False)

    @history_app.command("show")
    def show(ctx: typer.Context, run_id: int = typer.Argument(..., help="Run id from 'edgeport history'."),
             as_json: bool = JSON_OPTION) -> None:
        """Print one stored run (its full JSON document)."""
        record = store_from(ctx).get(run_id)
        doc = dict(record.document, run_id=record.id, subject=record.subject, created=record.created)
        if as_json:
            typer.echo(json.dumps(doc, indent=2))
            return
        from edgeport.cli._common import console
        from edgeport.report.terminal import render_stored_run

        render_stored_run(record.id, record.kind, record.subject, json.dumps(record.document), console())

    app.add_typer(history_app, name="history")
