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
    from edgeport import package as make_package

    result = make_package(study, out, store=store_from(ctx))

    def render(res: object, con: object) -> None:
        from rich.table import Table

        table = Table(title=f"package {result.out_dir}", title_justify="left")
        for col in ("variant", "file", "runtime", "needs", "sha256"):
            table.add_column(col, overflow="fold")
        for v in result.variants:
            needs = ", ".join([*v.get("isa_required", []), *v.get("os_required", [])]) or "—"
            table.add_row(v["id"] + (" (CPU fallback)" if v["cpu_fallback"] else ""), v["file"], v["runtime"], needs,
                          v["sha256"][:12])
        con.print(table)  # type: ignore[attr-defined]
        con.print(f"manifest: {result.manifest}\nselector: {result.selector} "  # type: ignore[attr-defined]
                  "(python edgeport_select.py manifest.json)")

    emit(ctx, "package", result.out_dir, result, render, as_json)
