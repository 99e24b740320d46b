"""``edgeport sweep``: many models through the same study, and one fleet report (model × target → pick).

The flags are ``optimize``'s (same defaults, same recipe rules); each model's study writes under
``<out>/<model name>/`` and the fleet report to ``<out>/fleet.html`` and ``fleet.json``.
"""

from __future__ import annotations

from dataclasses import replace

import typer

from edgeport.cli._common import JSON_OPTION
from edgeport.cli.optimize import ARTIFACT_ROOT_OPTION, EXECUTOR_OPTION, RAY_ADDRESS_OPTION, study_options


def register(app: typer.Typer) -> None:
    app.command("sweep")(sweep)


def sweep(
    ctx: typer.Context,
    models: list[str] = typer.Argument(..., help="Model files (.pt2, .onnx, ...), each studied with the same options."),
    data: str = typer.Option(None, "--data", "-d", help="Real data for every model: .npz or a built-in name."),
    target: str = typer.Option(None, "--target", "-t", help="Comma-separated target ids (default: optimize's)."),
    max_latency_ms: float = typer.Option(None, "--max-latency-ms", help="Latency budget on the host (median)."),
    max_accuracy_drop: str = typer.Option(None, "--max-accuracy-drop", help="e.g. 0.5% (or 0.005)."),
    max_size_mb: float = typer.Option(None, "--max-size-mb", help="Artifact size budget."),
    threads: str = typer.Option(None, "--threads", help="Thread counts to measure."),
    formats: str = typer.Option(None, "--formats", help="Only these formats (e.g. onnx,tflite)."),
    precisions: str = typer.Option(None, "--precisions", help="Only these precisions (e.g. fp32,int8)."),
    runtimes: str = typer.Option(None, "--runtimes", help="Only these runtimes."),
    recipe: str = typer.Option(None, "--recipe", "-r", help="Recipe file (TOML, a \\[study] table) for every model."),
    out: str = typer.Option(None, "--out", "-o", help="Output directory (default: edgeport-out/sweep)."),
    fresh: bool = typer.Option(False, "--fresh", help="Re-run every candidate instead of resuming."),
    quick: bool = typer.Option(False, "--quick", help="Short benchmarks (a first look; noisier numbers)."),
    executor: str = EXECUTOR_OPTION,
    ray_address: str = RAY_ADDRESS_OPTION,
    artifact_root: str = ARTIFACT_ROOT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Study several models with the same options and write the fleet report: the pick per model and target."""
    from edgeport.cli._common import emit, store_from
    from edgeport.report.terminal import render_fleet
    from edgeport.study.options import QUICK_BENCH
    from edgeport.study.sweep import run_sweep

    options = study_options(recipe, data=data, target=target, max_latency_ms=max_latency_ms,
                            max_accuracy_drop=max_accuracy_drop, max_size_mb=max_size_mb, threads=threads,
                            formats=formats, precisions=precisions, runtimes=runtimes, out=out, executor=executor,
                            ray_address=ray_address, artifact_root=artifact_root)
    if fresh:
        options = replace(options, resume=False)
    if quick:
        options = replace(options, bench=QUICK_BENCH)
    result = run_sweep(list(models), options, store=store_from(ctx))
    emit(ctx, "fleet", ", ".join(models), result, render_fleet, as_json)
