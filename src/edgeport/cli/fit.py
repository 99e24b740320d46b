"""``edgeport fit MODEL --device stm32h743``: does the model fit the device's RAM and flash?"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit
from edgeport.cli.devices import TARGETS_DIR_OPTION


def _render(result: Any, con: Any) -> None:
    e = result.estimate
    con.print(f"[bold]{'[green]' if result.fits else '[red]'}{result.verdict}[/][/bold]")
    con.print(f"  activations (planned) {e.activation_bytes} B, lower bound {e.lower_bound} B, "
              f"runtime overhead {e.runtime_overhead_bytes} B (estimate) -> arena {e.arena_bytes} B")
    con.print(f"  flash: weights {e.weight_bytes} B + runtime code {e.code_bytes} B (estimate)")
    con.print(f"  peak at node {e.peak_step}: {', '.join(e.peak_tensors[:6])}")
    for note in e.notes:
        con.print(f"  [yellow]note:[/yellow] {note}")
    for s in result.suggestions:
        con.print(f"  [cyan]try:[/cyan] {s}")


def register(app: typer.Typer) -> None:
    @app.command("fit")
    def fit_cmd(ctx: typer.Context, model: Path = typer.Argument(..., help="ONNX or TFLite model."),
                device: str = typer.Option("cortex-m7", "--device", "-d", help="Target id (edgeport devices)."),
                inplace: bool = typer.Option(False, "--inplace", help="Let Reshape/Squeeze alias their input."),
                targets_dir: Path = TARGETS_DIR_OPTION, as_json: bool = JSON_OPTION) -> None:
        """Tensor-arena and flash estimate (TFLite Micro planner) against a device; what to change if short."""
        from edgeport import fit
        from edgeport.core.target import get_target

        tgt = get_target(device, [targets_dir] if targets_dir else None)
        result = fit(model, tgt, inplace=inplace)
        emit(ctx, "fit", str(model), result, _render, as_json, passed=result.fits)
        if not result.fits:
            raise typer.Exit(1)
