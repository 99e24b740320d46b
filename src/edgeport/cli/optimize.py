"""``edgeport optimize``: the main job — variants × targets → verified, measured, recommended.

Every flag defaults to ``StudyOptions``' own default (one source of truth for the CLI and the API).
With ``--recipe``, the recipe's values replace those defaults and every flag given on the command
line replaces the recipe's value for that field (a constraint flag replaces only that constraint).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import typer

from edgeport import InputPlan, StudyOptions, load_recipe  # light: the options module only (run_study loads on use)
from edgeport.cli._common import (DEVICE_OPTION, INPUT_OPTION, JSON_OPTION, SHAPE_OPTION, TOKEN_FILE_OPTION,
                                  parse_ints, parse_list, use_token_file)

_DEFAULTS = StudyOptions()

EXECUTOR_OPTION = typer.Option(None, "--executor", help="serial (this process) or ray (builds and verification "
                                                        "as Ray tasks, benchmarks one at a time per device; "
                                                        'needs edgeport[ray]) (default: serial).')
RAY_ADDRESS_OPTION = typer.Option(None, "--ray-address", help="Ray cluster to use with --executor ray "
                                                              "(default: start a local one).")
ARTIFACT_ROOT_OPTION = typer.Option(None, "--artifact-root", help="Where Ray builds land, content-addressed "
                                                                  "(a path every node shares; default: the output "
                                                                  "directory).")


def _shown(values: tuple[Any, ...]) -> str:
    return ",".join(map(str, values)) or "all installed"


def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)


def optimize(
    ctx: typer.Context,
    model: str = typer.Argument(None, help="Model file (.pt2, .onnx, ...). Default: the built-in digits example."),
    data: str = typer.Option(None, "--data", "-d", help="Real data: .npz or a built-in name (digits)."),
    target: str = typer.Option(None, "--target", "-t",
                               help=f"Comma-separated target ids (default: {_shown(_DEFAULTS.targets)})."),
    max_latency_ms: float = typer.Option(None, "--max-latency-ms", help="Latency budget on the host (median)."),
    max_accuracy_drop: str = typer.Option(None, "--max-accuracy-drop", help="e.g. 0.5% (or 0.005)."),
    max_size_mb: float = typer.Option(None, "--max-size-mb", help="Artifact size budget."),
    max_energy_mj: float = typer.Option(None, "--max-energy-mj",
                                        help="Energy budget per inference (mJ): measured on the host where RAPL is "
                                             "readable, else the target's estimate."),
    threads: str = typer.Option(None, "--threads",
                                help=f"Thread counts to measure (default: {_shown(_DEFAULTS.threads)})."),
    formats: str = typer.Option(None, "--formats", help="Only these formats (e.g. onnx,tflite) "
                                                        f"(default: {_shown(_DEFAULTS.formats)})."),
    precisions: str = typer.Option(None, "--precisions", help="Only these precisions (e.g. fp32,int8) "
                                                              f"(default: {_shown(_DEFAULTS.precisions)})."),
    runtimes: str = typer.Option(None, "--runtimes", help=f"Only these runtimes (default: "
                                                          f"{_shown(_DEFAULTS.runtimes)})."),
    recipe: str = typer.Option(None, "--recipe", "-r", help="Recipe file (TOML, a \\[study] table); flags given "
                                                            "beside it override the recipe's values."),
    out: str = typer.Option(None, "--out", "-o", help="Output directory (default: edgeport-out/<model>)."),
    fresh: bool = typer.Option(False, "--fresh", help="Re-run every candidate instead of resuming."),
    quick: bool = typer.Option(False, "--quick", help="Short benchmarks (a first look; noisier numbers)."),
    no_calibrate: bool = typer.Option(False, "--no-calibrate",
                                      help="Leave the stored latency calibrations as they are (by default the "
                                           "measured candidates are added to them and they are fitted again)."),
    device: str = typer.Option(None, "--device", metavar="agent://HOST:PORT",
                               help="Measure every target but host on this device's agent (verified and timed "
                                    "there) instead of estimating it."),
    token_file: str = TOKEN_FILE_OPTION,
    wide: bool = typer.Option(False, "--wide", help="Show every column of the candidates table (wider than 80)."),
    executor: str = EXECUTOR_OPTION,
    ray_address: str = RAY_ADDRESS_OPTION,
    artifact_root: str = ARTIFACT_ROOT_OPTION,
    shapes: list[str] = SHAPE_OPTION,
    values: list[str] = INPUT_OPTION,
    as_json: bool = JSON_OPTION,
) -> None:
    """Build every installed variant, verify it on real data, measure it, and pick one per target."""
    from edgeport import run_study
    from edgeport.errors import BudgetNotMet
    from edgeport.study.options import QUICK_BENCH

    use_token_file(token_file)
    options = study_options(recipe, model=model, data=data, target=target, max_latency_ms=max_latency_ms,
                            max_accuracy_drop=max_accuracy_drop, max_size_mb=max_size_mb, max_energy_mj=max_energy_mj,
                            threads=threads,
                            formats=formats, precisions=precisions, runtimes=runtimes, out=out,
                            shapes=shapes, inputs=values, device=device, executor=executor, ray_address=ray_address,
                            artifact_root=artifact_root)
    if fresh:
        options = replace(options, resume=False)
    if quick:
        options = replace(options, bench=QUICK_BENCH)
    if no_calibrate:
        options = replace(options, calibrate=False)
    result = _run_with_progress(run_study, options, ctx, quiet=as_json)
    from functools import partial

    from edgeport.cli._common import emit
    from edgeport.report.terminal import render_study

    emit(ctx, "study", result.model, result, partial(render_study, wide=wide), as_json,
         passed=result.constraints_met)
    if not result.constraints_met:
        raise BudgetNotMet("no variant meets the constraints on the host",
                           fix=f"closest variants are listed in {result.report_html}; relax a constraint")


def study_options(recipe: str | None, *, model: str | None = None, data: str | None = None,
                  target: str | None = None, max_latency_ms: float | None = None,
                  max_accuracy_drop: str | None = None, max_size_mb: float | None = None,
                  max_energy_mj: float | None = None, threads: str | None = None, formats: str | None = None, precisions: str | None = None,
                  runtimes: str | None = None, out: str | None = None, shapes: list[str] | None = None,
                  inputs: list[str] | None = None, device: str | None = None, executor: str | None = None,
                  ray_address: str | None = None, artifact_root: str | None = None) -> StudyOptions:
    """The recipe's options (or the defaults), with each flag that was given (not None) replacing its field."""
    from edgeport.study.options import parse_percent

    base = load_recipe(recipe) if recipe else StudyOptions()
    lists = {"targets": target, "formats": formats, "precisions": precisions, "runtimes": runtimes}
    changes: dict[str, Any] = {k: tuple(parse_list(v)) for k, v in lists.items() if v is not None}
    given = {"model": model, "data": data, "out_dir": out, "device": device, "executor": executor,
             "ray_address": ray_address, "artifact_root": artifact_root}
    changes.update({k: v for k, v in given.items() if v is not None})
    if threads is not None:
        changes["threads"] = tuple(parse_ints(threads))
    limits = {"max_latency_ms": max_latency_ms, "max_size_mb": max_size_mb, "max_energy_mj": max_energy_mj,
              "max_accuracy_drop": None if max_accuracy_drop is None else parse_percent(max_accuracy_drop)}
    limits = {k: v for k, v in limits.items() if v is not None}
    if limits:
        changes["constraints"] = replace(base.constraints, **limits)
    if shapes or inputs:  # flags override the recipe's [inputs] entry by entry
        changes["inputs"] = InputPlan.parse(shapes, inputs).with_defaults(base.inputs)
    return replace(base, **changes)


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
