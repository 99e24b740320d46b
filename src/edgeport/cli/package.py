"""``edgeport package``: the chosen variants per target, a manifest, and the runtime selector."""

from __future__ import annotations

import typer

from edgeport.cli._common import JSON_OPTION, emit, store_from


def register(app: typer.Typer) -> None:
    app.command("package")(package)


def package(ctx: typer.Context,
            study: str = typer.Argument(..., help="Study run id, report.json, or the study's output directory."),
            out: str = typer.Option(..., "--out", "-o", help="Package directory to write."),
            as_json: bool = JSON_OPTION) -> None:
    """Write a deployable package from a finished study."""
    from edgeport.deploy.manifest import build_package, load_study_document
    from edgeport.report.terminal_targets import render_package

    result = build_package(load_study_document(study, store_from(ctx)), out)

    emit(ctx, "package", result.out_dir, result, render_package, as_json)
