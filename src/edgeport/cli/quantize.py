"""``edgeport quantize MODEL --precision int8|fp16|int16x8 --data D``: one vocabulary over every stack's
quantiser; reports size, test accuracy and latency against the float model, optionally under an
accuracy budget (mixed precision)."""

from __future__ import annotations

from typing import Any

import typer

from edgeport.cli._common import INPUT_OPTION, JSON_OPTION, SHAPE_OPTION, emit


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
                 shapes: list[str] = SHAPE_OPTION, values: list[str] = INPUT_OPTION,
                 as_json: bool = JSON_OPTION) -> None:
        """Quantise MODEL and report size, test accuracy and latency against the float model."""
        from edgeport import quantize as run_quantize
        from edgeport.errors import BudgetNotMet
        from edgeport.report.terminal_measure import render_quantize

        try:
            result = run_quantize(model, precision, data, out=out, stack=stack,
                                  max_accuracy_drop=max_accuracy_drop,
                                  max_float_layers=max_float_layers, threads=threads,
                                  options=parse_options(option or []), shapes=shapes, inputs=values)
        except BudgetNotMet as exc:
            best = getattr(exc, "result", None)
            if best is None:
                raise
            emit(ctx, "quantize", model, best, render_quantize, as_json, passed=False)
            typer.echo(f"error: BudgetNotMet: {exc}", err=True)
            raise typer.Exit(exc.exit_code) from None
        emit(ctx, "quantize", model, result, render_quantize, as_json, passed=True)
