"""``edgeport quantize MODEL --precision int8|fp16|int16x8 --data D``: one vocabulary over every stack's
quantiser; reports size, test accuracy and latency against the float model, optionally under an
accuracy budget (mixed precision)."""

from __future__ import annotations

from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x + 0.0 if abs(x) > 1e-12 else 0.0:.2%}"


def parse_options(items: list[str]) -> dict[str, Any]:
    """``["per_channel=false", "percentile=99.9"]`` → typed values (bool, int, float, else text)."""
    from edgeport.errors import ConfigError

    found: dict[str, Any] = {}
    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option {item!r} is not KEY=VALUE", fix="e.g. --option per_channel=false")
        text = raw.strip()
        value: Any = text
        if text.lower() in ("true", "false"):
            value = text.lower() == "true"
        else:
            for cast in (int, float):
                try:
                    value = cast(text)
                    break
                except ValueError:
                    continue
        found[key.strip()] = value
    return found


def render(result: Any, con: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{escape(result.model)} → {result.precision} on {result.stack} ({escape(result.method)})")
    for col in ("model", "file", "size", "test accuracy", "median latency (batch 1)"):
        table.add_column(col, justify="left" if col in ("model", "file") else "right")
    lat, flat = result.latency, result.float_latency
    table.add_row("float", escape(result.float_model), f"{result.float_size_bytes / 1024:.1f} KiB",
                  _pct(result.float_accuracy), "n/a" if flat is None else f"{flat.median_ms:.4g} ms")
    table.add_row(result.precision, escape(str(result.artifact.path)), f"{result.size_bytes / 1024:.1f} KiB",
                  _pct(result.accuracy), "n/a" if lat is None else f"{lat.median_ms:.4g} ms")
    con.print(table)
    speed = "" if result.speedup is None else f", speed-up ×{result.speedup:.2f}"
    con.print(f"size ×{result.size_ratio:.2f}, accuracy drop {_pct(result.accuracy_drop)} "
              f"on the {result.split} split{speed}")
    mixed = result.mixed_precision
    if mixed is not None:
        state = "[green]met[/green]" if mixed.met else "[bold red]NOT met[/bold red]"
        con.print(f"accuracy budget {_pct(mixed.budget)}: {state} "
                  f"(sensitivity: {escape(mixed.sensitivity_source)})")
        for step in mixed.steps:
            con.print(f"  {len(step.float_layers)} float layer(s): drop {_pct(step.accuracy_drop)}"
                      f"{' ✓' if step.meets_budget else ''}")
        for layer in mixed.float_layers:
            con.print(f"  kept float: [bold]{escape(layer.node)}[/bold] ({layer.op_type}) — {escape(layer.reason)}")
        if not mixed.float_layers:
            con.print("  every quantisable layer quantised")
    elif result.budget is not None:
        state = "[green]met[/green]" if result.budget_met else "[bold red]NOT met[/bold red]"
        con.print(f"accuracy budget {_pct(result.budget)}: {state} ({escape(result.method)})")
        for t in result.tried:
            con.print(f"  {t['precision']}: drop {_pct(t['accuracy_drop'])}{' ✓' if t['meets_budget'] else ''}")
    for w in result.warnings:
        style = "bold red" if "SLOWER" in w else "yellow"
        con.print(f"[{style}]⚠ {escape(w)}[/{style}]")


def register(app: typer.Typer) -> None:
    @app.command()
    def quantize(ctx: typer.Context,
                 model: str = typer.Argument(..., help="Model file (.onnx, .pt2, ...)."),
                 precision: str = typer.Option("int8", "--precision", "-p", help="int8 | fp16 | int16x8."),
                 data: str = typer.Option(..., "--data", "-d", help="Dataset (.npz or 'digits'): calibration "
                                                                    "split + accuracy on the test split."),
                 out: str = typer.Option(None, "--out", "-o", help="Output model path."),
                 stack: str = typer.Option(None, "--stack", help="ort | tflite | openvino | executorch "
                                                                 "(default: the model's own stack; ort for PyTorch)."),
                 max_accuracy_drop: str = typer.Option(None, "--max-accuracy-drop",
                                                       help="Accuracy budget, e.g. 0.5%: keep the most sensitive "
                                                            "layers in float until the test-split drop fits (ort); "
                                                            "NNCF accuracy control (openvino)."),
                 max_float_layers: int = typer.Option(None, "--max-float-layers",
                                                      help="At most this many layers may stay float in the search."),
                 option: list[str] = typer.Option(None, "--option", help="Quantiser option KEY=VALUE (repeatable), "
                                                  "e.g. per_channel=false, calibration=entropy, quant_format=qoperator."),
                 threads: int = typer.Option(1, "--threads", help="Threads for the latency comparison."),
                 as_json: bool = JSON_OPTION) -> None:
        """Quantise MODEL and report size, test accuracy and latency against the float model."""
        from edgeport import quantize as run_quantize
        from edgeport.errors import BudgetNotMet

        try:
            result = run_quantize(model, precision, data, out=out, stack=stack,
                                  max_accuracy_drop=max_accuracy_drop,
                                  max_float_layers=max_float_layers, threads=threads,
                                  options=parse_options(option or []))
        except BudgetNotMet as exc:
            best = getattr(exc, "result", None)
            if best is None:
                raise
            emit(ctx, "quantize", model, best, render, as_json, passed=False)
            typer.echo(f"error: BudgetNotMet: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        emit(ctx, "quantize", model, result, render, as_json, passed=True)
