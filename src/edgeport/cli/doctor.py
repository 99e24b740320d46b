"""``edgeport doctor``: every runtime, converter and pass — available or not, version, the extra to install."""

from __future__ import annotations

import typer

from edgeport.cli._common import JSON_OPTION, emit


def register(app: typer.Typer) -> None:
    @app.command()
    def doctor(ctx: typer.Context, as_json: bool = JSON_OPTION) -> None:
        """Show which runtimes, converters, passes and GPU providers are available here."""
        from edgeport.doctor import diagnose
        from edgeport.report.terminal_targets import render_doctor

        emit(ctx, "doctor", "environment", diagnose(), render_doctor, as_json, save=False)
