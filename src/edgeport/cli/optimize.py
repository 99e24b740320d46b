"""``edgeport optimize``: the main job — variants × targets → verified, measured, recommended."""

from __future__ import annotations

from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, parse_ints, parse_list


def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)


def optimize(
    ctx: typer.Context,
    model: str = typer.Argument(None, help="Model file (.pt2, .onnx, ...). Default: the built-in digits example."),
    data: str = typer.Option(None, "--data", "-d", help="Real data: .npz or a built-in name (digits)."),
    target: str = typer.Option("host,pixel-8,cortex-m7", "--target", "-t", help="Comma-separated target ids."),
    max_latency_ms: float = typer.Option(None, "--max-latency-ms", help="Latency budget on the host (median)."),
    max_accuracy_drop: str = typer.Option(None, "--max-accuracy-drop", help="e.g. 0.5% (or 0.005)."),
    max_size_mb: float = typer.Option(None, "--max-size-mb", help="Artifact size budget."),
    threads: str = typer.Option("1,2", "--threads", help="Thread counts to measure."),
    formats: str = typer.Option("", "--formats", help="Only these formats (e.g. onnx,tflite)."),
    precisions: str = typer.Option("", "--precisions", help="Only these precisions (e.g. fp32,int8)."),
    runtimes: str = typer.Option("", "--runtimes", help="Only these runtimes."),
    recipe: str = typer.Option(None, "--recipe", "-r", help="Recipe file (TOML, [study] table) with these options."),
    out: str = typer.Option(None, "--out", "-o", help="Output directory [edgeport-out/<model>]."),
    fresh: bool = typer.Option(False, "--fresh", help="Re-run every candidate instead of resuming."),
    quick: bool = typer.Option(False, "--quick", help="Short benchmarks (a first look; noisier numbers)."),
    wide: bool = typer.Option(False, "--wide", help="Show every column of the candidates table (wider than 80)."),
    as_json: bool = JSON_OPTION,
) -> None:
    """Build every installed variant, verify it on real data, measure it, and pick one per target."""
    from dataclasses import replace

    from edgeport.errors import BudgetNotMet
    from edgeport.study.options import QUICK_BENCH, Constraints, StudyOptions, load_recipe, parse_percent
    from edgeport.study.study import run_study

    if recipe:
        options = load_recipe(recipe)
    else:
        options = StudyOptions(
            model=model, data=data, targets=tuple(parse_list(target)),
            constraints=Constraints(max_latency_ms=max_latency_ms, max_accuracy_drop=parse_percent(max_accuracy_drop),
                                    max_size_mb=max_size_mb),
            threads=tuple(parse_ints(threads)), formats=tuple(parse_list(formats)),
            precisions=tuple(parse_list(precisions)), runtimes=tuple(parse_list(runtimes)), out_dir=out)
    if fresh:
        options = replace(options, resume=False)
    if quick:
        options = replace(options, bench=QUICK_BENCH)
    result = _run_with_progress(run_study, options, ctx, quiet=as_json)
    from functools import partial

    from edgeport.cli._common import emit
    from edgeport.report.terminal import render_study

    emit(ctx, "study", result.model, result, partial(render_study, wide=wide), as_json,
         passed=result.constraints_met)
    if not result.constraints_met:
        raise BudgetNotMet("no variant meets the constraints on the host",
                           fix=f"closest variants are listed in {result.report_html}; relax a constraint")


def _run_with_progress(run: Any, options: Any, ctx: typer.Context, *, quiet: bool) -> Any:
    from edgeport.cli._common import store_from

    store = store_from(ctx)
    if quiet:
        return run(options, store=store)
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("[bold]optimize[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.description}"), transient=True) as bar:
        task = bar.add_task("preparing", total=None)

        def hook(key: str, done: int, total: int) -> None:
            bar.update(task, total=total, completed=done, description=key)

        return run(options, store=store, progress=hook)
