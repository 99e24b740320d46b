"""Helpers shared by CLI commands: output (rich or --json), the store, list parsing."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import typer

__all__ = ["DEVICE_OPTION", "INPUT_OPTION", "JSON_OPTION", "SHAPE_OPTION", "TOKEN_FILE_OPTION", "console", "emit",
           "parse_list", "store_from", "use_token_file"]

JSON_OPTION = typer.Option(False, "--json", help="Print the result as JSON (the versioned schema).")
SHAPE_OPTION = typer.Option(None, "--shape", metavar="NAME=1x3x640x640",
                            help="An input's shape (repeatable; the name may be left out when the model has one "
                                 "input). Fixes dynamic dims for every number and feed.")
INPUT_OPTION = typer.Option(None, "--input", metavar="NAME=VALUE",
                            help="An input's values for synthetic feeds (repeatable): a number (sr=16000), a "
                                 ".npy file, uniform(LO,HI) or normal(MEAN,STD).")

DEVICE_OPTION = typer.Option(None, "--device", metavar="agent://HOST:PORT",
                             help="Run (and time) on this device's edgeport agent instead of this host.")
TOKEN_FILE_OPTION = typer.Option(None, "--token-file", help="File holding the agent's token [default: "
                                                            "$EDGEPORT_AGENT_TOKEN].")


def use_token_file(path: str | None) -> None:
    """Point this process's agent clients at ``--token-file`` (as ``$EDGEPORT_AGENT_TOKEN_FILE`` would)."""
    if path:
        import os

        from edgeport.runtimes.remote import TOKEN_FILE_ENV

        os.environ[TOKEN_FILE_ENV] = path


def console() -> Any:
    from rich.console import Console

    return Console(soft_wrap=False)


def store_from(ctx: typer.Context) -> Any:
    from edgeport.store import Store

    path = (ctx.obj or {}).get("store")
    return Store(path)


def parse_list(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def parse_ints(text: str | None) -> list[int]:
    from edgeport.errors import ConfigError

    try:
        return [int(p) for p in parse_list(text)]
    except ValueError:
        raise ConfigError(f"{text!r} is not a comma-separated list of integers", fix="e.g. --threads 1,2") from None


def emit(ctx: typer.Context, kind: str, subject: str, result: Any, render: Callable[[Any, Any], None],
         as_json: bool, *, passed: bool | None = None, save: bool = True) -> int | None:
    """Persist ``result`` to the store and print it (rich view, or the JSON envelope)."""
    from edgeport.report.schema import envelope

    run_id = store_from(ctx).save(kind, subject, result, passed=passed) if save else None
    if as_json:
        doc = envelope(kind, result)
        if run_id is not None:
            doc["run_id"] = run_id
        typer.echo(json.dumps(doc, indent=2))
    else:
        con = console()
        render(result, con)
        if run_id is not None:
            con.print(f"[dim]saved as run {run_id} in {store_from(ctx).path}[/dim]")
    return run_id
