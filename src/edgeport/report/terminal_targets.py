"""Terminal (rich) views of where a model can run: the device catalog, check, fit, packages, doctor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from edgeport.analysis.memory import FitResult
    from edgeport.deploy.manifest import PackageResult
    from edgeport.doctor import DoctorReport

__all__ = ["render_check", "render_devices", "render_doctor", "render_fit", "render_package"]


def _fmt_bytes(n: int | None) -> str:
    if not n:
        return "-"
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def render_devices(result: Any, con: Console) -> None:
    """The device catalog (``result.devices``: the ``Target`` profiles)."""
    from rich.table import Table

    table = Table(title="devices (peak MAC/s are estimates unless the profile says measured)")
    for col in ("id", "kind", "name", "cpu", "peak int8 MAC/s", "RAM", "SRAM", "flash", "paths", "measured by"):
        table.add_column(col)
    agents = getattr(result, "agents", {})
    for t in result.devices:
        best = max([t.cpu.peak_macs.get("int8", 0.0)] + [a.peak_macs.get("int8", 0.0) for a in t.accelerators])
        table.add_row(t.id + (f" ({', '.join(t.aliases)})" if t.aliases else ""), t.kind, t.name,
                      f"{t.cpu.cores}x {t.cpu.arch}", f"{best:.3g}" if best else "-", _fmt_bytes(t.memory.ram_bytes),
                      _fmt_bytes(t.memory.sram_bytes), _fmt_bytes(t.memory.flash_bytes), ", ".join(t.paths),
                      _measured_by(t, agents.get(t.id)))
    con.print(table)
    for tid, a in agents.items():
        con.print(f"{tid}: agent {a.device} " + ("[green]reachable[/green]" if a.reachable else "[red]unreachable[/red]")
                  + f" ({a.detail})")


def _measured_by(t: Any, agent: Any) -> str:
    if t.id == "host":
        return "this host"
    if agent is not None:
        return f"{agent.device} ({'reachable' if agent.reachable else 'unreachable'})"
    return t.measured_by or "estimated"


def render_check(result: Any, con: Console) -> None:
    """Per target (``result.targets``: target id, compat report, fit result): will the model run there?"""
    from rich.table import Table

    table = Table(title=f"{result.model}: will it run?",
                  caption="latency: estimate from peak MAC/s (not measured)")
    for col in ("target", "delegated", "partitions", "fallbacks", "fits memory", "latency (est.)"):
        table.add_column(col)
    for row in result.targets:
        c, f = row.compat, row.fit
        reasons = ", ".join(f"{k} {v}" for k, v in c.fallback_reasons.items()) or "0"
        ms = c.est_latency_ms
        lat = "-" if ms is None else (f"{ms:.3g} ms" if ms >= 1 else f"{ms * 1e3:.3g} µs")
        fits = ("yes" if f.fits else "[red]no[/red]") + f" ({f.arena_bytes / 1024:.1f} KB arena)"
        table.add_row(row.target, f"{c.delegated_nodes}/{c.total_nodes}", str(c.partitions), reasons, fits, lat)
    con.print(table)
    for row in result.targets:
        con.print(f"[bold]{row.target}[/bold]: {row.compat.verdict}; {row.fit.verdict}")
    for note in getattr(result, "notes", ()):
        con.print(f"[yellow]note:[/yellow] {note}")


def render_fit(result: FitResult, con: Console) -> None:
    """Arena and flash against the device, with what to change when it does not fit."""
    e = result.estimate
    con.print(f"[bold]{'[green]' if result.fits else '[red]'}{result.verdict}[/][/bold]")
    con.print(f"  activations (planned) {e.activation_bytes} B, lower bound {e.lower_bound} B, "
              f"runtime overhead {e.runtime_overhead_bytes} B (estimate) -> arena {e.arena_bytes} B")
    con.print(f"  flash: weights {e.weight_bytes} B + runtime code {e.code_bytes} B (estimate)")
    con.print(f"  peak at node {e.peak_step}: {', '.join(e.peak_tensors[:6])}")
    for note in e.notes:
        con.print(f"  [yellow]note:[/yellow] {note}")
    for s in result.suggestions:
        con.print(f"  [cyan]try:[/cyan] {s}")


def render_doctor(report: DoctorReport, con: Console) -> None:
    """Every runtime, converter, pass and GPU provider: available, version, the extra to install."""
    from rich.markup import escape
    from rich.table import Table

    con.print(f"edgeport {report.edgeport} · Python {report.python} · {report.platform}")
    table = Table(show_lines=False)
    for col in ("kind", "name", "status", "version"):
        table.add_column(col, no_wrap=True)
    table.add_column("install")
    table.add_column("detail", overflow="fold")
    for c in report.components:
        status = "[green]available[/green]" if c.available else (
            "[yellow]no GPU here[/yellow]" if c.kind == "gpu" and "no GPU" in c.detail else "[red]missing[/red]")
        extra = "" if c.available or not c.extra else f'pip install "edgeport[{c.extra}]"'
        table.add_row(c.kind, escape(c.name), status, escape(c.version or ""), escape(extra), escape(c.detail))
    con.print(table)
    missing = report.missing
    if missing:
        extras = sorted({c.extra for c in missing if c.extra})
        con.print(escape(f"{len(missing)} component(s) missing; install: " +
                         ", ".join(f'pip install "edgeport[{e}]"' for e in extras)))
    else:
        con.print("every runtime, converter and pass is available")


def render_package(result: PackageResult, con: Console) -> None:
    """The variants written per target, the manifest and the selector."""
    from rich.table import Table

    table = Table(title=f"package {result.out_dir}", title_justify="left")
    for col in ("variant", "file", "runtime", "needs", "sha256"):
        table.add_column(col, overflow="fold")
    for v in result.variants:
        needs = ", ".join([*v.get("isa_required", []), *v.get("os_required", [])]) or "—"
        table.add_row(v["id"] + (" (CPU fallback)" if v["cpu_fallback"] else ""), v["file"], v["runtime"], needs,
                      v["sha256"][:12])
    con.print(table)
    con.print(f"manifest: {result.manifest}\nselector: {result.selector} "
              "(python edgeport_select.py manifest.json)")
