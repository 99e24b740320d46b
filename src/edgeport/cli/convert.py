"""``edgeport convert MODEL --to FORMAT``: plan, convert in isolated steps, verify; exit 1 when verification fails."""

from __future__ import annotations

from typing import Any

import typer

from edgeport.cli._common import INPUT_OPTION, JSON_OPTION, SHAPE_OPTION, emit, parse_list


def _parse_options(items: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` pairs; values parse as JSON (numbers, true/false) or stay strings."""
    import json

    from edgeport.errors import ConfigError

    parsed: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--option {item!r} is not KEY=VALUE", fix="e.g. --option tune_seconds=60")
        try:
            parsed[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            parsed[key.strip()] = value
    return parsed


def register(app: typer.Typer) -> None:
    @app.command()
    def convert(ctx: typer.Context,
                model: str = typer.Argument(..., help="Model file (.onnx, .pt2, ...)."),
                to: str = typer.Option(..., "--to", help="Target format (onnx, tflite, openvino, ...)."),
                out: str = typer.Option(None, "-o", "--out", help="Output path [default: beside the model]."),
                data: str = typer.Option(None, "--data", help="Dataset (.npz or 'digits') for calibration and "
                                                              "verification [default: random inputs]."),
                precision: str = typer.Option(None, "--precision", help="fp32, fp16, int8, ... (per converter) "
                                                                        "[default: the converter's; fp32 for most]."),
                device: str = typer.Option(None, "--device", help="Device profile the output is built for "
                                                                  "(mcu-c: a Cortex-M part, e.g. stm32h743)."),
                via: str = typer.Option(None, "--via", help="Force the converter chain: conv1,conv2."),
                no_verify: bool = typer.Option(False, "--no-verify", help="Skip verification (not recommended)."),
                timeout: float = typer.Option(None, "--timeout", help="Seconds each conversion step may take."),
                option: list[str] = typer.Option(None, "--option", help="Converter option KEY=VALUE, repeatable "
                                                 "(e.g. tune_seconds=60 for TVM, compress=int8 for Core ML)."),
                shapes: list[str] = SHAPE_OPTION, values: list[str] = INPUT_OPTION,
                as_json: bool = JSON_OPTION) -> None:
        """Convert MODEL to another format, then verify it against the original."""
        from edgeport import Format, load_artifact, load_dataset
        from edgeport import convert as do_convert
        from edgeport.errors import ConfigError, VerificationFailed
        from edgeport.report.terminal_verify import render_conversion

        from edgeport import InputPlan

        source = load_artifact(model).with_inputs(InputPlan.parse(shapes, values))
        target = Format.parse(to)
        chain = parse_list(via)  # an unknown chain is refused by convert(), naming the paths there are
        if timeout is not None and timeout <= 0:
            raise ConfigError(f"--timeout must be positive, got {timeout}", fix="e.g. --timeout 600")
        dataset = load_dataset(data) if data else None
        result = do_convert(source, target, out=out, data=dataset,
                            options={**({"precision": precision} if precision else {}),
                                     **({"device": device} if device else {}), **_parse_options(option or [])},
                            via=chain or None, verify_result=not no_verify, timeout_s=timeout)
        emit(ctx, "conversion", str(source.path), result, render_conversion, as_json,
             passed=None if result.verification is None else result.passed)
        if not result.passed:
            failures = result.verification.failures() if result.verification else []
            raise VerificationFailed(f"{result.artifact.path.name} is outside tolerance: "
                                     f"{'; '.join(failures[:3]) or 'see the table'}",
                                     fix="try another path (--via), a higher precision, or inspect with "
                                         "'edgeport verify'")
