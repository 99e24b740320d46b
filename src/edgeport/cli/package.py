"""``edgeport package``: the chosen variants per target, a manifest, and the runtime selector."""

from __future__ import annotations

import typer

from edgeport.cli._common import JSON_OPTION, emit, store_from


def register(app: typer.Typer) -> None:
    app.command("package")(package)


def package(ctx: typer.Context,
            study: str = typer.Argument(..., help="Study run id, report.json, or the study's output directory."),
            out: str = typer.Option(..., "--out", "-o", help="Package directory to write."),
            encrypt: bool = typer.Option(False, "--encrypt", help="Store each model file AES-256-GCM encrypted."),
            key_file: str = typer.Option(None, "--key-file", help="The 32-byte key (raw or 64 hex digits)."),
            as_json: bool = JSON_OPTION) -> None:
    """Write a deployable package from a finished study (optionally encrypted)."""
    from edgeport import package as make_package
    from edgeport.report.terminal_targets import render_package

    result = make_package(study, out, store=store_from(ctx), encrypt=encrypt, key_file=key_file)

    emit(ctx, "package", result.out_dir, result, render_package, as_json)
