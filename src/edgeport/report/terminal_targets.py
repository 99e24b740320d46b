"""Terminal (rich) views of where a model can run: the device catalog, check, fit, packages, doctor."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console

    from edgeport.analysis.memory import FitResult
    from edgeport.deploy.manifest import PackageResult
    from edgeport.doctor import DoctorReport

__all__ = ["render_calibration", "render_check", "render_devices", "render_doctor", "render_fit", "render_package"]


def _fmt_bytes(n: int | None) -> str:
    if not n:
        return "-"
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def _ms(v: float) -> str:
    return f"{v:.3g} ms" if v >= 1 else f"{v * 1e3:.3g} µs"


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
                  caption="latency and energy: estimates (not measured) with their interval; labels below")
    for col in ("target", "delegated", "partitions", "fallbacks", "fits memory", "latency (est.)", "energy (est.)"):
        table.add_column(col)
    for row in result.targets:
        c, f = row.compat, row.fit
        reasons = ", ".join(f"{k} {v}" for k, v in c.fallback_reasons.items()) or "0"
        e = c.estimate
        lat = "-" if e is None else f"~{_ms(e.latency_ms)} [{_ms(e.low_ms)}–{_ms(e.high_ms)}]"
        energy = "-" if e is None or e.energy_mj is None else \
            f"~{e.energy_mj:.3g} mJ [{e.energy_low_mj:.2g}–{e.energy_high_mj:.2g}]"
        fits = ("yes" if f.fits else "[red]no[/red]") + f" ({f.arena_bytes / 1024:.1f} KB arena)"
        table.add_row(row.target, f"{c.delegated_nodes}/{c.total_nodes}", str(c.partitions), reasons, fits, lat,
                      energy)
    con.print(table)
    for row in result.targets:
        e = row.compat.estimate
        label = "" if e is None else f"; latency {e.label}; energy {e.energy_label}"
        con.print(f"[bold]{row.target}[/bold]: {row.compat.verdict}; {row.fit.verdict}{label}")
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
    lat = result.latency
    if lat is not None:
        con.print(f"  latency ~{_ms(lat.latency_ms)} [{_ms(lat.low_ms)}–{_ms(lat.high_ms)}]: {lat.label}")
        con.print("  energy " + (f"~{lat.energy_mj:.3g} mJ/inference: " if lat.energy_mj is not None else "")
                  + lat.energy_label)
    for note in e.notes:
        con.print(f"  [yellow]note:[/yellow] {note}")
    for s in result.suggestions:
        con.print(f"  [cyan]try:[/cyan] {s}")
    m = result.measured
    if m is not None:
        if m.error:
            con.print(f"  [yellow]not measured:[/yellow] {m.error}")
        else:
            verdict = "fits" if m.fits else "does not fit"
            con.print(f"  [bold]measured[/bold] (edgeport MCU C, {m.cpu}, linked ELF): {verdict} — flash {m.flash_bytes} B "
                      f"of {m.flash_budget_bytes}, RAM {m.ram_bytes} B of {m.ram_budget_bytes} (arena {m.arena_bytes} B, "
                      f"stack {m.stack_bytes} B)")
            if m.instructions_per_invoke is not None:
                con.print(f"  measured: {m.instructions_per_invoke} instructions per inference under QEMU "
                          f"{m.qemu_machine} (-icount; instructions, not cycles)")


def render_calibration(result: Any, con: Console) -> None:
    """Each fit: the models it used, its leave-one-out interval and the fitted efficiencies."""
    from rich.table import Table

    for cal in result.calibrations:
        table = Table(title=f"{cal.key}: calibrated on {len(cal.models)} models (±{cal.interval * 100:.0f} %, "
                            "90 % of leave-one-out predictions)", title_justify="left")
        for col in ("op class", "efficiency (of peak)", "memory (of bandwidth)", "overhead/op"):
            table.add_column(col)
        p = cal.params
        for k in cal.seen_classes:
            eff = f"{1 / p.inv_eff[k]:.3g}" if p.inv_eff[k] else "∞"
            mem = f"{1 / p.inv_mem[k]:.3g}" if p.inv_mem[k] else "∞"
            table.add_row(k, eff, mem, _ms(p.overhead_s[k] * 1e3))
        con.print(table)
        con.print(f"  per-invoke floor {_ms(p.invoke_s * 1e3)}; unseen op classes keep the profile's prior")
    where = result.device if result.address == "host" else f"{result.address} (filed under the {result.device} profile)"
    con.print(f"{result.measured} model(s) measured on {where} through {result.runtime}")
    for f in result.failed:
        con.print(f"  [yellow]failed:[/yellow] {f}")
    for note in result.notes:
        con.print(f"[yellow]note:[/yellow] {note}")


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
    for vid, why in result.left_out:
        con.print(f"left out {vid}: {why}")
    key = " KEY_FILE" if result.encrypted else ""
    if result.encrypted:
        con.print("model files are AES-256-GCM encrypted; the selector decrypts them in memory with the key")
    con.print(f"manifest: {result.manifest}\nselector: {result.selector} "
              f"(python edgeport_select.py manifest.json{key})")
