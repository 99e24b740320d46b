"""``edgeport pipeline``: plan several models per frame against a frame budget, then measure the choice."""

from __future__ import annotations

import typer

from edgeport.cli._common import JSON_OPTION, console, emit, store_from


def register(app: typer.Typer) -> None:
    app.command("pipeline")(pipeline)


def pipeline(ctx: typer.Context,
             file: str = typer.Argument(None, help="pipeline.toml: [pipeline] budget and targets, [[stage]] tables."),
             example: bool = typer.Option(False, "--example", help="The built-in detector → reader example "
                                                                    "(trained on first use, offline)."),
             out: str = typer.Option(None, "--out", "-o",
                                     help="Output directory (default edgeport-out/pipeline-NAME)."),
             as_json: bool = JSON_OPTION) -> None:
    """A study per stage, one variant per stage chosen to meet the frame budget on each target (exit 1 when
    none does), and the choice run end to end on this host."""
    from edgeport.errors import BudgetNotMet, ConfigError
    from edgeport.pipeline import run_pipeline
    from edgeport.report.terminal_pipeline import render_pipeline

    if example == (file is not None):
        raise ConfigError("give a pipeline file or --example (one of them)",
                          fix="edgeport pipeline pipeline.toml, or edgeport pipeline --example")
    if example:
        from edgeport.pipeline.example import example_pipeline_path

        file = str(example_pipeline_path())
    con = None if as_json else console()
    result = run_pipeline(file, store=store_from(ctx), out_dir=out,
                          progress=None if con is None else (lambda what: con.print(f"[dim]{what}…[/dim]")))
    emit(ctx, "pipeline", result.name, result, render_pipeline, as_json, passed=result.met)
    if not result.met:
        missed = [p for p in result.plans if not p.met]
        raise BudgetNotMet(f"{missed[0].target}: {missed[0].reason}",
                           fix=f"the closest choices and their frame times are in {result.report_html}; relax the "
                               "budget or a stage's accuracy budget")
