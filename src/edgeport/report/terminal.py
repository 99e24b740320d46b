"""Terminal (rich) views of results: the study, stored-run lists, and the helpers every view shares.

Every ``render_*`` function takes a result (a dataclass from a higher layer, read by attribute
only: this module imports none of them) and a ``rich.console.Console``. Views of other
results live beside this one: ``terminal_verify`` (verification, localisation, fidelity,
sensitivity, conversion), ``terminal_measure`` (benchmarks, conditions, profile, quantisation)
and ``terminal_targets`` (devices, check, fit, package, doctor).

Tables fit the console: by default a view picks the few columns that answer its question and
lets only free text (variant names, reasons) wrap, so a number is never cut to "…"; ``wide``
asks for every column, printed as wide as they need.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from edgeport.study.candidate import Candidate
    from edgeport.study.study import StudyResult
    from edgeport.study.sweep import FleetResult

__all__ = ["fmt", "give_room", "ms", "pct", "print_wide", "render_fleet", "render_history", "render_stored_run",
           "render_study"]


# ---- shared formatting --------------------------------------------------------------------------
def fmt(value: float | None, spec: str = ".3g") -> str:
    """``value`` in ``format`` spec, "—" when unknown."""
    return "—" if value is None else format(value, spec)


def pct(value: float | None) -> str:
    return "—" if value is None else f"{value:.2%}"


def ms(value: float | None) -> str:
    """A latency in ms: three significant digits, whole numbers from 100 ms."""
    if value is None:
        return "—"
    return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"


def give_room(con: Console, width: int = 160) -> None:
    """Wide tables: give non-terminal output (pipes, files, CI logs) room instead of truncating."""
    if not con.is_terminal and con.width < width:
        con.width = width


def print_wide(con: Console, table: Table) -> None:
    """Print ``table`` at its natural width, even past the console's (for ``--wide``)."""
    from rich.measure import Measurement

    needed = Measurement.get(con, con.options.update(max_width=10_000), table).maximum
    width = con.width
    con.width = max(width, needed)  # print(width=...) cannot exceed the console's own width
    try:
        con.print(table, crop=False)
    finally:
        con.width = width


# ---- the study ----------------------------------------------------------------------------------
def _latency(c: Candidate, stat: str) -> float | None:
    lat = c.latency_ms
    return lat.get(stat) if isinstance(lat, dict) else getattr(lat, stat, None)


def _size_kb(size_bytes: int | None) -> str:
    return "—" if size_bytes is None else f"{size_bytes / 1e3:.1f}"


def _status(status: str) -> str:
    colour = "green" if status == "ok" else "red"
    return f"[{colour}]{status}[/{colour}]"


def _notes() -> Table:
    """Two columns, label and sentence: the sentence wraps under itself, not under the label."""
    from rich.table import Table

    grid = Table.grid(padding=(0, 1), pad_edge=True)
    grid.add_column(no_wrap=True, style="bold")
    grid.add_column(overflow="fold")
    return grid


def render_study(result: StudyResult, con: Console, *, wide: bool = False) -> None:
    """The recommendation per target, then every candidate (Pareto-optimal ones marked ◆)."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    recs = Table(title="Recommendation per target", title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                 caption="~ estimated from the device profile, not measured", caption_justify="left")
    recs.add_column("target", no_wrap=True)
    recs.add_column("pick", overflow="fold")
    for col in ("latency", "accuracy", "size"):
        recs.add_column(col, justify="right", no_wrap=True)
    for r in result.recommendations:
        if r.key is None:
            recs.add_row(escape(r.target), "[red]none[/red]", "—", "—", "—")
            continue
        if r.measured and r.latency_ms is not None:
            lat = f"{ms(r.latency_ms)} ms"
        else:
            lat = "—" if r.estimate is None else (f"~{ms(r.estimate.latency_ms)} ms "
                                                  f"[{ms(r.estimate.low_ms)}–{ms(r.estimate.high_ms)}]")
        size = f"{r.size_bytes / 1e3:.1f} KB" if r.size_bytes else "—"
        recs.add_row(escape(r.target), f"[green]{escape(r.key)}[/green]", lat, pct(r.accuracy), size)
    con.print(recs)
    why = _notes()  # the reasons are sentences: below the table, wrapped with a hanging indent
    for r in result.recommendations:
        closest = f"; closest: {', '.join(r.closest)}" if r.key is None and r.closest else ""
        label = f"; latency {r.estimate.label}" if r.estimate is not None else ""
        energy = ""
        if r.key is not None and r.energy_label:
            energy = (f"; energy {r.energy_mj:.3g} mJ/inference ({r.energy_label})" if r.energy_mj is not None
                      else f"; energy {r.energy_label}")
        why.add_row(f"{escape(r.target)}:", escape(r.reason + closest + label + energy))
    con.print(why)

    ordered = sorted(result.candidates, key=lambda c: (c.status != "ok", c.median_ms or 1e9))
    labelled = any(c.accuracy is not None for c in result.candidates)
    cands = Table(title=f"{len(result.candidates)} candidates ({result.resumed} resumed from the store)",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                  caption="◆ Pareto-optimal (quality, latency, size) · latency: median on this host"
                          + ("" if wide else " · --wide: every column"), caption_justify="left")
    cands.add_column("variant", overflow="fold", no_wrap=wide)
    cands.add_column("status", no_wrap=True)
    quality = [("accuracy", lambda c: pct(c.accuracy))] if labelled else []
    if wide or not labelled:
        quality.append(("agree", lambda c: pct(c.agreement)))
    numbers: list[tuple[str, Any]] = [*quality]
    if wide:
        numbers += [("Δacc pts", lambda c: fmt(None if c.accuracy_delta is None else c.accuracy_delta * 100, "+.2f")),
                    ("max|err|", lambda c: fmt(c.max_abs, ".2e")), ("SNR dB", lambda c: fmt(c.snr_db, ".1f"))]
    numbers.append(("median ms", lambda c: ms(c.median_ms)))
    if wide:
        numbers += [("p99 ms", lambda c: ms(_latency(c, "p99"))), ("load ms", lambda c: ms(c.load_ms)),
                    ("RSS MB", lambda c: fmt(c.peak_rss_mb, ".1f"))]
    numbers.append(("size KB", lambda c: _size_kb(c.size_bytes)))
    for name, _ in numbers:
        cands.add_column(name, justify="right", no_wrap=True)
    for c in ordered:
        key = escape(c.key) + (" ◆" if c.key in result.pareto else "")
        cands.add_row(key, _status(c.status), *(cell(c) for _, cell in numbers))
    if wide:
        print_wide(con, cands)
    else:
        con.print(cands)
    failed = _notes()
    for c in ordered:
        if c.status != "ok":
            cause = c.error or "; ".join(c.verification_failures) or c.status
            failed.add_row(f"[red]✗[/red] {escape(c.key)}" + (f" ({c.stage})" if c.stage else "") + ":", escape(cause))
    if failed.row_count:
        con.print(failed)
    if result.data_note:
        con.print(f"[yellow]{escape(result.data_note)}[/yellow]")
    for line in result.calibration:
        con.print(f"latency calibration {escape(line)}")
    con.print(f"report: [bold]{escape(result.report_html)}[/bold]  (JSON: {escape(result.report_json)})")
    con.print(f"study {result.study_id} took {result.seconds:.1f} s")


# ---- stored runs --------------------------------------------------------------------------------
def render_history(result: Any, con: Console) -> None:
    """A list of stored runs (``store``: path; ``runs``: id, created, kind, subject, passed, summary)."""
    import datetime as dt

    from rich.markup import escape
    from rich.table import Table

    if not result.runs:
        con.print(f"no runs stored in {escape(result.store)} yet")
        return
    table = Table(title=f"runs in {escape(result.store)}")
    for col in ("id", "when", "kind", "subject", "result", "summary"):
        table.add_column(col, no_wrap=col in ("id", "when", "kind", "result"), overflow="fold")
    for r in result.runs:
        when = dt.datetime.fromtimestamp(r.created).strftime("%Y-%m-%d %H:%M:%S")
        status = "" if r.passed is None else ("[green]pass[/green]" if r.passed else "[red]fail[/red]")
        table.add_row(str(r.id), when, r.kind, escape(r.subject), status, escape(r.summary))
    con.print(table)


def render_stored_run(run_id: int, kind: str, subject: str, document_json: str, con: Console) -> None:
    """One stored run: a heading and its JSON document, highlighted."""
    from rich.json import JSON
    from rich.markup import escape

    con.print(f"run {run_id}: {kind} of {escape(subject)}")
    con.print(JSON(document_json))


def render_fleet(result: FleetResult, con: Console) -> None:
    """One row per model × target: the pick, its latency (~ estimated), accuracy and size."""
    from pathlib import Path

    from rich import box
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"Fleet: {len(result.models)} models × {len(result.targets)} targets ({result.executor})",
                  title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False, show_edge=False,
                  caption="~ estimated from the device profile, not measured", caption_justify="left")
    for col in ("model", "target", "pick", "latency", "accuracy", "size"):
        table.add_column(col, justify="right" if col in ("latency", "accuracy", "size") else "left",
                         overflow="fold")
    for r in result.rows:
        latency = "—" if r.latency_ms is None else f"{'' if r.measured else '~'}{ms(r.latency_ms)} ms"
        size = "—" if r.size_bytes is None else f"{r.size_bytes / 1e6:.3f} MB"
        table.add_row(escape(Path(r.model).name), escape(r.target), escape(r.pick or "none qualifies"), latency,
                      pct(r.accuracy), size)
    con.print(table)
    con.print(f"report: {escape(result.report_html)} (JSON: {escape(result.report_json)}); "
              f"{result.seconds:.1f} s")
