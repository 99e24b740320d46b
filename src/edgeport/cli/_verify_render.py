"""Terminal views (rich) of verification, localisation, fidelity and sensitivity results."""

from __future__ import annotations

from typing import Any

__all__ = ["render_fidelity", "render_localization", "render_sensitivity", "render_verification"]


def _wide(con: Any) -> None:
    """Tables here are wide: give non-terminal output (pipes, files, CI logs) room instead of truncating."""
    if not con.is_terminal and con.width < 160:
        con.width = 160


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _f(x: float | None, fmt: str = ".3g") -> str:
    return "—" if x is None else format(x, fmt)


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.2%}"


def _alignment(lines: list[str], con: Any) -> None:
    if lines:
        con.print("[bold]alignment applied[/bold]")
        for line in lines:
            con.print(f"  • {line}", markup=False)
    else:
        con.print("[dim]alignment: none needed (same input layout, float I/O, outputs matched by name)[/dim]")


def render_verification(result: Any, con: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    _wide(con)
    con.print(f"[bold]verify[/bold] {escape(result.test)} ({result.test_runtime}) against "
              f"{escape(result.reference)} ({result.reference_runtime}) on {result.samples} '{result.split}' "
              f"samples, precision {result.precision}")
    _alignment(result.alignment, con)
    table = Table(title="outputs")
    for col in ("output", "kind", "max abs", "mean abs", "max rel", "cosine", "SNR dB", "top-1", "top-5", "result"):
        table.add_column(col, justify="left" if col in ("output", "kind", "result") else "right")
    for o in result.outputs:
        name = o.name if o.name == o.reference_name else f"{o.name} ↔ {o.reference_name}"
        table.add_row(name, o.kind, _f(o.max_abs), _f(o.mean_abs), _f(o.max_rel), _f(o.cosine, ".6f"),
                      _f(o.snr_db, ".1f"), _pct(o.top1_agreement), _pct(o.top5_agreement),
                      "[green]pass[/green]" if o.passed else "[red]FAIL[/red]")
    con.print(table)
    if result.reference_accuracy is not None:
        con.print(f"accuracy: reference {_pct(result.reference_accuracy)}, test {_pct(result.test_accuracy)}, "
                  f"delta {_f(None if result.accuracy_delta is None else result.accuracy_delta * 100, '+.2f')} points")
    for w in result.warnings:
        con.print(f"[yellow]warning:[/yellow] {w}")
    for f in result.failures():
        con.print(f"[red]✗ {escape(f)}[/red]")
    con.print("[bold green]PASS[/bold green]" if result.passed else "[bold red]FAIL[/bold red] outside tolerance")
    if result.localization is not None:
        render_localization(result.localization, con)


def render_localization(loc: Any, con: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    _wide(con)
    con.print(f"[bold]localisation[/bold] ({loc.samples} samples, divergent below SNR {loc.min_snr_db:g} dB)")
    if not loc.available:
        con.print(f"[yellow]{loc.summary()}[/yellow]")
        return
    table = Table(title="error growth along the test graph")
    for col in ("#", "test node", "op", "reference tensor", "matched", "SNR dB", "cosine", "max abs", ""):
        table.add_column(col, justify="right" if col in ("#", "SNR dB", "cosine", "max abs") else "left")
    rows = loc.layers
    if len(rows) > 60:  # keep the view short: the start, and around the first divergence
        first = loc.first_divergent.index if loc.first_divergent else rows[-1].index
        rows = [r for r in rows if r.index < 10 or abs(r.index - first) <= 10 or r is loc.layers[-1]]
    for layer in rows:
        mark = "[green]ok[/green]" if layer.within else (
            "[yellow]~ mapping artefact[/yellow]" if layer.recovered else "[red]✗[/red]")
        if loc.first_divergent is not None and layer.index == loc.first_divergent.index:
            mark = "[bold red]← first divergent[/bold red]"
        table.add_row(str(layer.index), layer.test_node, layer.op_type, layer.reference_tensor, layer.matched_by,
                      _f(layer.snr_db, ".1f"), _f(layer.cosine, ".4f"), _f(layer.max_abs), mark)
    con.print(table)
    style = "red" if loc.first_divergent is not None else "green"
    con.print(f"[{style}]{escape(loc.summary())}[/{style}]")
    if loc.suspects and loc.first_divergent is not None:
        con.print(f"suspect nodes (after the last good tensor): {', '.join(loc.suspects)}", markup=False)
    if loc.unmatched_test:
        con.print(f"[dim]{len(loc.unmatched_test)} test tensors had no reference counterpart[/dim]")


def render_fidelity(matrix: Any, con: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    metric = matrix.task_metric_name or "task metric"

    _wide(con)
    con.print(f"[bold]fidelity[/bold] against {escape(matrix.source)} ({matrix.source_runtime}) on {matrix.samples} "
              f"'{matrix.split}' samples of {escape(matrix.dataset)}"
              + (f"; source {metric} {_pct(matrix.source_metric)}" if matrix.source_metric is not None else ""))
    _alignment(matrix.alignment, con)
    table = Table(title="fidelity matrix")
    cols = ("artifact", "format", "prec", "max abs", "mean abs", "max rel", "cosine", "SNR dB", "top-1", "top-5",
            metric, "Δ", "result")
    for col in cols:
        table.add_column(col, justify="left" if col in ("artifact", "format", "prec", "result") else "right")
    for r in matrix.rows:
        if r.error:
            table.add_row(_name(r.artifact), r.format, r.precision, *(["—"] * 9), "[red]error[/red]")
            continue
        delta = None if r.task_metric_delta is None else r.task_metric_delta * 100
        table.add_row(_name(r.artifact), r.format, r.precision, _f(r.max_abs), _f(r.mean_abs), _f(r.max_rel),
                      _f(r.cosine, ".6f"), _f(r.snr_db, ".1f"), _pct(r.top1_agreement), _pct(r.top5_agreement),
                      _pct(r.task_metric), _f(delta, "+.2f"), "[green]pass[/green]" if r.passed else "[red]FAIL[/red]")
    con.print(table)
    for r in matrix.rows:
        if r.alignment:
            con.print(f"[bold]{escape(_name(r.artifact))}[/bold] alignment:")
            for line in r.alignment:
                con.print(f"  • {line}", markup=False)
        for f in r.failures:
            con.print(f"[red]✗ {escape(_name(r.artifact))}: {escape(f)}[/red]")
        if r.localization is not None:
            con.print(f"  ↳ {escape(r.localization.summary())}")
    for w in matrix.warnings:
        con.print(f"[yellow]warning:[/yellow] {w}")


def render_sensitivity(result: Any, con: Any) -> None:
    from rich.table import Table

    _wide(con)
    table = Table(title=f"quantisation sensitivity ({result.method}), most sensitive first")
    for col in ("rank", "node", "op", "SNR dB", "cosine", "max abs", "top-1", "accuracy", "acc drop"):
        table.add_column(col)
    for x in result.layers:
        table.add_row(str(x.rank), x.node, x.op_type, _f(x.snr_db, ".1f"), _f(x.cosine, ".5f"), _f(x.max_abs),
                      _pct(x.top1_agreement), _pct(x.accuracy), _pct(x.accuracy_drop))
    con.print(table)
