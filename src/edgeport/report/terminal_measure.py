"""Terminal (rich) views of measurements: benchmarks and their conditions, profiles, quantisation."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from edgeport.report.terminal import ms

if TYPE_CHECKING:
    from rich.console import Console

    from edgeport.analysis.profile import ProfileResult
    from edgeport.bench.conditions import Conditions
    from edgeport.bench.matrix import BenchMatrix
    from edgeport.compress.quantize import QuantizeResult

__all__ = ["render_bench", "render_conditions", "render_profile", "render_quantize"]


def render_conditions(conditions: Conditions, con: Console) -> None:
    """The machine a measurement ran on, dimmed; a loud warning when it was loaded."""
    from rich.markup import escape

    c = conditions
    con.print(f"[dim]conditions: {escape(c.summary_line())}[/dim]")
    con.print(f"[dim]Python {c.python}, edgeport {c.edgeport}, {escape(c.os)}; "
              + escape(", ".join(f"{k} {v}" for k, v in c.versions.items() if v)) + "[/dim]")
    if c.loaded:
        con.print(f"[bold yellow]⚠ loaded machine: {escape(c.loaded_reason)} — these numbers are not comparable "
                  "with a quiet machine's[/bold yellow]")


def render_bench(matrix: BenchMatrix, con: Console, *, top_ops: int = 10) -> None:
    """One row per runtime × threads: latency percentiles, CI, throughput, load, first run, memory; then, for rows
    with per-operator times, the ``top_ops`` slowest kernels and the time per kernel type."""
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    rows = matrix.rows
    table = Table(title=f"{escape(matrix.model)} ({matrix.format}), batch {rows[0].batch if rows else 1}, "
                        f"{escape(rows[0].inputs if rows else '')}",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  caption=f"{', '.join(sorted({str(r.runs) for r in rows}))} timed runs per row · times in ms · "
                          "CI95 ±: half the 95% CI of the median · RSS Δ: peak above pre-load, MB")
    for col in ("runtime", "thr", "median", "p90", "p99", "CI95 ±", "items/s", "load", "1st run", "RSS Δ"):
        table.add_column(col, justify="left" if col == "runtime" else "right", no_wrap=True,
                         min_width=max([len(r.runtime) for r in rows] + [7]) if col == "runtime" else None)
    for r in rows:
        s = r.latency_ms
        rss = "" if r.peak_rss_delta_mb is None else f"{r.peak_rss_delta_mb:.1f}"
        half = (s.ci95_high - s.ci95_low) / 2 / s.median * 100 if s.median else 0.0
        table.add_row(escape(r.runtime), str(r.threads or "-"), ms(s.median), ms(s.p90), ms(s.p99),
                      f"{half:.1f}%", f"{r.throughput:,.0f}", ms(r.load_ms), ms(r.first_run_ms), rss)
    con.print(table)
    if rows:
        first, last = rows[0].conditions, rows[-1].conditions
        merged = replace(first, load_after=last.load_after,
                         versions={k: v for r in rows for k, v in r.conditions.versions.items()},
                         loaded=any(r.conditions.loaded for r in rows),
                         loaded_reason=next((r.conditions.loaded_reason for r in rows if r.conditions.loaded), ""))
        render_conditions(merged, con)
    for r in rows:
        if r.ops is not None and top_ops > 0:
            _render_ops(r, con, top_ops)
        elif r.ops_note:
            con.print(f"[yellow]{escape(r.runtime)}: no per-operator times: {escape(r.ops_note)}[/yellow]")


def _render_ops(row: Any, con: Console, top: int) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    ops = row.ops
    gap = max(ops.run_us - ops.kernels_us, 0.0)
    title = f"where the time goes: {escape(row.runtime)}, {row.threads or '-'} thr — {len(ops.rows)} kernels"
    table = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  caption=f"{ops.profiler}, per run over {ops.runs} profiled runs (not the timed ones) · "
                          "a profiled run "
                          f"{ops.run_us / 1e3:.3g} ms, of which {gap / max(ops.run_us, 1e-9):.0%} between kernels")
    for col in ("kernel", "type", "node", "µs", "share", "cum."):
        table.add_column(col, justify="left" if col in ("kernel", "type", "node") else "right", no_wrap=True)
    cum = 0.0
    for op in ops.top(top):
        cum += op.share
        node = op.node if op.node is not None else "(added by the runtime)" if op.inserted else "—"
        table.add_row(escape(_tail(op.name, 36)), escape(op.kind), escape(_tail(node, 24)), f"{op.us:,.1f}",
                      f"{op.share:.1%}", f"{cum:.1%}")
    con.print(table)
    kinds = ", ".join(f"{escape(k)} {v / max(ops.kernels_us, 1e-9):.0%}" for k, v in list(ops.by_kind().items())[:6])
    con.print(f"  by kernel type: {kinds}")


def _tail(text: str, width: int) -> str:
    """``text`` cut to ``width`` from the left: an exported node name says the most at its end."""
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _si(n: float, unit: str = "") -> str:
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.4g} {prefix}{unit}"
    return f"{n:.4g} {unit}".rstrip()


def _bytes(n: int | None) -> str:
    if n is None:
        return "—"
    for factor, prefix in ((1 << 30, "GiB"), (1 << 20, "MiB"), (1 << 10, "KiB")):
        if n >= factor:
            return f"{n / factor:.2f} {prefix}"
    return f"{n} B"


def _shape(shape: Any) -> str:
    return "?" if shape is None else "×".join("?" if d is None else str(d) for d in shape) or "scalar"


def render_profile(result: ProfileResult, con: Console, *, top: int = 10, by_op: bool = False) -> None:
    """Totals, the ``top`` layers by MACs, and (``by_op``, or when ``top`` is 0) the per-op-type table."""
    from rich.markup import escape
    from rich.table import Table

    summary = Table(title=f"profile: {escape(result.model)} ({result.format}"
                          + (f", opset {result.opset}" if result.opset else "") + ")", show_header=False)
    summary.add_column("", style="bold")
    summary.add_column("", justify="right")
    summary.add_row("parameters", f"{result.params:,}")
    if result.buffers:
        summary.add_row("buffers (BN statistics)", f"{result.buffers:,}")
    summary.add_row("weight bytes", _bytes(result.weight_bytes))
    summary.add_row("file size", _bytes(result.file_bytes))
    summary.add_row("MACs (conv/matmul)", f"{_si(result.macs)}  ({result.macs:,})")
    summary.add_row("FLOPs (all ops)", _si(result.flops))
    summary.add_row("  of which non-MAC ops", _si(result.other_flops))
    summary.add_row("nodes", f"{result.node_count:,}")
    summary.add_row("activations (sum)", _bytes(result.activation_bytes))
    if result.largest_activation is not None:
        la = result.largest_activation
        summary.add_row("largest activation", f"{_bytes(la.bytes)}  {escape(la.name)} {_shape(la.shape)}")
    if result.symbolic_dims:
        summary.add_row("symbolic dims", ", ".join(f"{escape(k)}={v}" for k, v in result.assumed_dims.items())
                        + " (assumed)")
    summary.add_row("shape inference", escape(result.shape_inference))
    con.print(summary)

    if top > 0 and result.nodes:
        layers = Table(title=f"top {min(top, len(result.nodes))} layers by MACs")
        for col in ("#", "node", "op", "MACs", "% MACs", "FLOPs", "params", "output", "act bytes"):
            layers.add_column(col, justify="left" if col in ("node", "op", "output") else "right",
                              overflow="fold", no_wrap=col not in ("node", "output"))
        for i, row in enumerate(result.top_layers(top), 1):
            share = f"{100 * row.macs / result.macs:.1f}" if result.macs else "—"
            layers.add_row(str(i), escape(row.name), row.op_type, _si(row.macs), share, _si(row.flops),
                           f"{row.params:,}", _shape(row.output_shape) + ("" if row.exact else " ~"),
                           _bytes(row.activation_bytes))
        con.print(layers)

    if by_op or top <= 0:
        ops = Table(title="per op type")
        for col in ("op", "count", "MACs", "% MACs", "FLOPs", "params"):
            ops.add_column(col, justify="left" if col == "op" else "right")
        for o in result.op_types:
            share = f"{100 * o.macs / result.macs:.1f}" if result.macs else "—"
            ops.add_row(o.op_type, str(o.count), _si(o.macs), share, _si(o.flops), f"{o.params:,}")
        con.print(ops)
    for note in result.notes:
        con.print(f"[dim]note: {escape(note)}[/dim]")
    if result.unsupported_ops:
        con.print(f"[yellow]no cost rule for: {escape(', '.join(result.unsupported_ops))} "
                  "(counted as 0)[/yellow]")
    if result.inexact_nodes:
        con.print(f"[yellow]{result.inexact_nodes} node(s) (~) had unknown dims, read as 1[/yellow]")


def _pct(x: float | None) -> str:  # "n/a", and no "-0.00%"
    return "n/a" if x is None else f"{x + 0.0 if abs(x) > 1e-12 else 0.0:.2%}"


def render_quantize(result: QuantizeResult, con: Console) -> None:
    """Float vs quantised: size, test accuracy, latency; the accuracy budget and what stayed float."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=f"{escape(result.model)} → {result.precision} on {result.stack} ({escape(result.method)})")
    for col in ("model", "file", "size", "test accuracy", "median latency (batch 1)"):
        table.add_column(col, justify="left" if col in ("model", "file") else "right",
                         overflow="fold" if col == "file" else "ellipsis", no_wrap=col != "file")
    lat, flat = result.latency, result.float_latency
    table.add_row("float", escape(result.float_model), f"{result.float_size_bytes / 1024:.1f} KiB",
                  _pct(result.float_accuracy), "n/a" if flat is None else f"{flat.median_ms:.4g} ms")
    table.add_row(result.precision, escape(str(result.artifact.path)), f"{result.size_bytes / 1024:.1f} KiB",
                  _pct(result.accuracy), "n/a" if lat is None else f"{lat.median_ms:.4g} ms")
    con.print(table)
    speed = "" if result.speedup is None else f", speed-up ×{result.speedup:.2f}"
    con.print(f"size ×{result.size_ratio:.2f}, accuracy drop {_pct(result.accuracy_drop)} "
              f"on the {result.split} split{speed}")
    mixed = result.mixed_precision
    if mixed is not None:
        state = "[green]met[/green]" if mixed.met else "[bold red]NOT met[/bold red]"
        con.print(f"accuracy budget {_pct(mixed.budget)}: {state} "
                  f"(sensitivity: {escape(mixed.sensitivity_source)})")
        for step in mixed.steps:
            con.print(f"  {len(step.float_layers)} float layer(s): drop {_pct(step.accuracy_drop)}"
                      f"{' ✓' if step.meets_budget else ''}")
        for layer in mixed.float_layers:
            con.print(f"  kept float: [bold]{escape(layer.node)}[/bold] ({layer.op_type}) — {escape(layer.reason)}")
        if not mixed.float_layers:
            con.print("  every quantisable layer quantised")
    elif result.budget is not None:
        state = "[green]met[/green]" if result.budget_met else "[bold red]NOT met[/bold red]"
        con.print(f"accuracy budget {_pct(result.budget)}: {state} ({escape(result.method)})")
        for t in result.tried:
            con.print(f"  {t['precision']}: drop {_pct(t['accuracy_drop'])}{' ✓' if t['meets_budget'] else ''}")
    for w in result.warnings:
        style = "bold red" if "SLOWER" in w else "yellow"
        con.print(f"[{style}]⚠ {escape(w)}[/{style}]")
