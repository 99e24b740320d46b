"""``edgeport convert MODEL --to FORMAT``: plan, convert in isolated steps, verify; exit 1 when verification fails."""

from __future__ import annotations

from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit, parse_list


def render_verification(ver: Any, con: Any) -> None:
    """The per-output verification table (shared with other commands that verify)."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"verification on {ver.samples} samples ({escape(ver.split)})")
    for col in ("output", "max abs", "mean abs", "max rel", "cosine", "top-1 agree", "result"):
        table.add_column(col, no_wrap=True)
    for o in ver.outputs:
        top1 = "" if o.top1_agreement is None else f"{o.top1_agreement:.2%}"
        table.add_row(escape(o.name), f"{o.max_abs:.3g}", f"{o.mean_abs:.3g}", f"{o.max_rel:.3g}", f"{o.cosine:.6f}",
                      top1, "[green]pass[/green]" if o.passed else "[red]FAIL[/red]")
    con.print(table)
    if ver.reference_accuracy is not None and ver.test_accuracy is not None:
        con.print(f"accuracy: reference {ver.reference_accuracy:.2%} → converted {ver.test_accuracy:.2%} "
                  f"(Δ {ver.accuracy_delta:+.2%})")
    for failure in ver.failures():
        con.print(f"[red]✗ {escape(failure)}[/red]")


def _render(result: Any, con: Any) -> None:
    from rich.markup import escape

    art = result.artifact
    con.print(f"[bold]{escape(' → '.join(result.path_taken))}[/bold] via {escape(', '.join(result.converters))}")
    con.print(f"wrote {escape(str(art.path))} ({art.size_bytes() / 1e6:.2f} MB) in "
              f"{sum(result.step_seconds):.1f} s")
    for warning in art.metadata.get("warnings", ()):  # e.g. an untuned TVM module is slow
        con.print(f"[yellow]⚠ {escape(str(warning))}[/yellow]")
    for rej in result.rejected:
        con.print(f"[yellow]rejected[/yellow] {escape(rej['path'])}: {escape(rej['reason'])}")
    if result.verification is not None:
        render_verification(result.verification, con)
        con.print(f"verified on {escape(result.verified_on)}: " +
                  ("[green]PASSED[/green]" if result.verification.passed else "[red]FAILED[/red]"))
    else:
        con.print(f"[yellow]{escape(result.verified_on or 'not verified (--no-verify)')}[/yellow]")


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
                precision: str = typer.Option("fp32", "--precision", help="fp32, fp16, int8, ... (per converter)."),
                via: str = typer.Option(None, "--via", help="Force the converter chain: conv1,conv2."),
                no_verify: bool = typer.Option(False, "--no-verify", help="Skip verification (not recommended)."),
                timeout: float = typer.Option(None, "--timeout", help="Seconds each conversion step may take."),
                option: list[str] = typer.Option(None, "--option", help="Converter option KEY=VALUE, repeatable "
                                                 "(e.g. tune_seconds=60 for TVM, compress=int8 for Core ML)."),
                as_json: bool = JSON_OPTION) -> None:
        """Convert MODEL to another format, then verify it against the original."""
        from edgeport import Format, load_artifact, load_dataset
        from edgeport import convert as do_convert
        from edgeport.errors import ConfigError, VerificationFailed

        source = load_artifact(model)
        target = Format.parse(to)
        chain = parse_list(via)  # an unknown chain is refused by convert(), naming the paths there are
        if timeout is not None and timeout <= 0:
            raise ConfigError(f"--timeout must be positive, got {timeout}", fix="e.g. --timeout 600")
        dataset = load_dataset(data) if data else None
        result = do_convert(source, target, out=out, data=dataset,
                            options={"precision": precision, **_parse_options(option or [])},
                            via=chain or None, verify_result=not no_verify, timeout_s=timeout)
        emit(ctx, "conversion", str(source.path), result, _render, as_json,
             passed=None if result.verification is None else result.passed)
        if not result.passed:
            failures = result.verification.failures() if result.verification else []
            raise VerificationFailed(f"{result.artifact.path.name} is outside tolerance: "
                                     f"{'; '.join(failures[:3]) or 'see the table'}",
                                     fix="try another path (--via), a higher precision, or inspect with "
                                         "'edgeport verify'")
