"""``edgeport check MODEL --target a,b,c``: operator coverage, partitions and memory fit across targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit, parse_list
from edgeport.cli.devices import TARGETS_DIR_OPTION


def _render(result: Any, con: Any) -> None:
    from rich.table import Table

    table = Table(title=f"{result.model}: will it run?",
                  caption="latency: estimate from peak MAC/s (not measured)")
    for col in ("target", "delegated", "partitions", "fallbacks", "fits memory", "latency (est.)"):
        table.add_column(col)
    for row in result.targets:
        c, f = row.compat, row.fit
        reasons = ", ".join(f"{k} {v}" for k, v in c.fallback_reasons.items()) or "0"
        ms = c.est_latency_ms
        lat = "-" if ms is None else (f"{ms:.3g} ms" if ms >= 1 else f"{ms * 1e3:.3g} µs")
        fits = ("yes" if f.fits else "[red]no[/red]") + f" ({f.arena_bytes / 1024:.1f} KB arena)"
        table.add_row(row.target, f"{c.delegated_nodes}/{c.total_nodes}", str(c.partitions), reasons, fits, lat)
    con.print(table)
    for row in result.targets:
        con.print(f"[bold]{row.target}[/bold]: {row.compat.verdict}; {row.fit.verdict}")


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(ctx: typer.Context, model: Path = typer.Argument(..., help="ONNX or TFLite model."),
              target: str = typer.Option("pixel-8,iphone-15-pro,cortex-m7", "--target", "-t",
                                         help="Comma-separated target ids (edgeport devices)."),
              targets_dir: Path = TARGETS_DIR_OPTION, as_json: bool = JSON_OPTION) -> None:
        """Which nodes run where on each target, partitions, CPU fallbacks, memory fit, estimated latency."""
        from edgeport import check as check_model

        result = check_model(model, parse_list(target), target_dirs=[targets_dir] if targets_dir else None)
        emit(ctx, "check", str(model), result, _render, as_json)
