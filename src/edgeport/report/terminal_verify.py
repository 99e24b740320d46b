"""Terminal (rich) views of verification, localisation, fidelity, sensitivity and conversion results.

These tables are wide (ten or more numeric columns): on a pipe or file they get room instead of
being cut (``give_room``); on a terminal rich fits them to its width.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from edgeport.report.terminal import fmt, give_room, pct

if TYPE_CHECKING:
    from rich.console import Console

    from edgeport.convert.api import ConversionResult
    from edgeport.verify.bitexact import BitExactResult
    from edgeport.verify.compare import VerificationResult
    from edgeport.verify.judgement import OutputComparison
    from edgeport.verify.fidelity import FidelityMatrix
    from edgeport.verify.localize import Localization
    from edgeport.compress.sensitivity import SensitivityResult

__all__ = ["render_conversion", "render_fidelity", "render_localization", "render_sensitivity",
           "render_verification"]


def _name(path: str) -> str:
    return path.replace("\\", "/").rsplit("/", 1)[-1]


def _alignment(lines: list[str], con: Console) -> None:
    if lines:
        con.print("[bold]alignment applied[/bold]")
        for line in lines:
            con.print(f"  • {line}", markup=False)
    else:
        con.print("[dim]alignment: none needed (same input layout, float I/O, outputs matched by name)[/dim]")


def render_verification(result: VerificationResult, con: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    give_room(con)
    con.print(f"[bold]verify[/bold] {escape(result.test)} ({result.test_runtime}) against "
              f"{escape(result.reference)} ({result.reference_runtime}) on {result.samples} '{result.split}' "
              f"samples, precision {result.precision}")
    _alignment(result.alignment, con)
    table = Table(title="outputs")
    for col in ("output", "kind", "max abs", "mean abs", "max rel", "cosine", "SNR dB", "top-1", "top-5", "result"):
        table.add_column(col, justify="left" if col in ("output", "kind", "result") else "right")
    for o in result.outputs:
        name = o.name if o.name == o.reference_name else f"{o.reference_name} ↔ {o.name} ({o.paired_by})"
        table.add_row(escape(name), o.kind, fmt(o.max_abs), fmt(o.mean_abs), fmt(o.max_rel), fmt(o.cosine, ".6f"),
                      fmt(o.snr_db, ".1f"), pct(o.top1_agreement), pct(o.top5_agreement),
                      "[green]pass[/green]" if o.passed else "[red]FAIL[/red]")
    con.print(table)
    _not_applied(result.outputs, con)
    if result.reference_accuracy is not None:
        con.print(f"accuracy: reference {pct(result.reference_accuracy)}, test {pct(result.test_accuracy)}, "
                  f"delta {fmt(None if result.accuracy_delta is None else result.accuracy_delta * 100, '+.2f')} points")
    for w in result.warnings:
        con.print(f"[yellow]warning:[/yellow] {w}")
    for f in result.failures():
        con.print(f"[red]✗ {escape(f)}[/red]")
    con.print("[bold green]PASS[/bold green]" if result.passed else "[bold red]FAIL[/bold red] outside tolerance")
    if result.localization is not None:
        render_localization(result.localization, con)


def _not_applied(outputs: list[OutputComparison], con: Console) -> None:
    """Say which metric was not applied to which output, and why (a "—" in the table is never unexplained)."""
    from rich.markup import escape

    for o in outputs:
        for metric, why in o.not_applied.items():
            con.print(f"[dim]{escape(f'output {o.reference_name!r}: {metric} not applied — {why}')}[/dim]")


def render_localization(loc: Localization, con: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    give_room(con)
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
                      fmt(layer.snr_db, ".1f"), fmt(layer.cosine, ".4f"), fmt(layer.max_abs), mark)
    con.print(table)
    style = "red" if loc.first_divergent is not None else "green"
    con.print(f"[{style}]{escape(loc.summary())}[/{style}]")
    if loc.suspects and loc.first_divergent is not None:
        con.print(f"suspect nodes (after the last good tensor): {', '.join(loc.suspects)}", markup=False)
    if loc.unmatched_test:
        con.print(f"[dim]{len(loc.unmatched_test)} test tensors had no reference counterpart[/dim]")


def render_fidelity(matrix: FidelityMatrix, con: Console) -> None:
    from rich.markup import escape
    from rich.table import Table

    metric = matrix.task_metric_name or "task metric"

    give_room(con)
    con.print(f"[bold]fidelity[/bold] against {escape(matrix.source)} ({matrix.source_runtime}) on {matrix.samples} "
              f"'{matrix.split}' samples of {escape(matrix.dataset)}"
              + (f"; source {metric} {pct(matrix.source_metric)}" if matrix.source_metric is not None else ""))
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
        table.add_row(_name(r.artifact), r.format, r.precision, fmt(r.max_abs), fmt(r.mean_abs), fmt(r.max_rel),
                      fmt(r.cosine, ".6f"), fmt(r.snr_db, ".1f"), pct(r.top1_agreement), pct(r.top5_agreement),
                      pct(r.task_metric), fmt(delta, "+.2f"), "[green]pass[/green]" if r.passed else "[red]FAIL[/red]")
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


def render_sensitivity(result: SensitivityResult, con: Console) -> None:
    from rich.table import Table

    give_room(con)
    table = Table(title=f"quantisation sensitivity ({result.method}), most sensitive first")
    for col in ("rank", "node", "op", "SNR dB", "cosine", "max abs", "top-1", "accuracy", "acc drop"):
        table.add_column(col)
    for x in result.layers:
        table.add_row(str(x.rank), x.node, x.op_type, fmt(x.snr_db, ".1f"), fmt(x.cosine, ".5f"), fmt(x.max_abs),
                      pct(x.top1_agreement), pct(x.accuracy), pct(x.accuracy_drop))
    con.print(table)


def _conversion_check(ver: VerificationResult, con: Console) -> None:
    """The short per-output verification table a conversion ends with."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"verification on {ver.samples} samples ({escape(ver.split)})")
    for col in ("output", "max abs", "mean abs", "max rel", "cosine", "top-1 agree", "result"):
        table.add_column(col, no_wrap=True)
    for o in ver.outputs:
        top1 = "" if o.top1_agreement is None else f"{o.top1_agreement:.2%}"
        table.add_row(escape(o.name), f"{o.max_abs:.3g}", f"{o.mean_abs:.3g}", f"{o.max_rel:.3g}", fmt(o.cosine, ".6f"),
                      top1, "[green]pass[/green]" if o.passed else "[red]FAIL[/red]")
    con.print(table)
    _not_applied(ver.outputs, con)
    if ver.reference_accuracy is not None and ver.test_accuracy is not None:
        con.print(f"accuracy: reference {ver.reference_accuracy:.2%} → converted {ver.test_accuracy:.2%} "
                  f"(Δ {ver.accuracy_delta:+.2%})")
    for failure in ver.failures():
        con.print(f"[red]✗ {escape(failure)}[/red]")


def render_conversion(result: ConversionResult, con: Console) -> None:
    """What a conversion did (path, converters, output file) and its verification."""
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
        _conversion_check(result.verification, con)
        con.print(f"verified on {escape(result.verified_on)}: " +
                  ("[green]PASSED[/green]" if result.verification.passed else "[red]FAILED[/red]"))
    else:
        con.print(f"[yellow]{escape(result.verified_on or 'not verified (--no-verify)')}[/yellow]")


def render_bit_exact(result: BitExactResult, con: Console) -> None:
    """One line: ``bit-exact on N samples``, or the first differing output and element."""
    colour = "green" if result.exact else "red"
    where = result.test_runtime.get("target") or result.test_runtime.get("runtime")
    con.print(f"[bold {colour}]{result.summary()}[/bold {colour}] ({result.split} split; reference "
              f"{result.reference_runtime.get('runtime')} {result.reference_runtime.get('op_resolver', '')}, test "
              f"{result.test_runtime.get('runtime')} on {where})")
    if result.stats.get("instructions_per_invoke"):
        con.print(f"  {result.stats['instructions_per_invoke']} instructions per inference under QEMU "
                  f"{result.test_runtime.get('qemu_machine')} (-icount; instructions, not cycles)")
