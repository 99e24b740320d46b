"""``edgeport devices``: the device catalog (shipped profiles + $EDGEPORT_TARGETS / --targets-dir)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit

TARGETS_DIR_OPTION = typer.Option(None, "--targets-dir", help="Extra directory of device profile .toml files.")


@dataclass
class DeviceList:
    devices: list[Any] = field(default_factory=list)


def _fmt_bytes(n: int | None) -> str:
    if not n:
        return "-"
    for unit, size in (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n} B"


def _render(result: DeviceList, con: Any) -> None:
    from rich.table import Table

    table = Table(title="devices (peak MAC/s are estimates unless the profile says measured)")
    for col in ("id", "kind", "name", "cpu", "peak int8 MAC/s", "RAM", "SRAM", "flash", "paths"):
        table.add_column(col)
    for t in result.devices:
        best = max([t.cpu.peak_macs.get("int8", 0.0)] + [a.peak_macs.get("int8", 0.0) for a in t.accelerators])
        table.add_row(t.id + (f" ({', '.join(t.aliases)})" if t.aliases else ""), t.kind, t.name,
                      f"{t.cpu.cores}x {t.cpu.arch}", f"{best:.3g}" if best else "-", _fmt_bytes(t.memory.ram_bytes),
                      _fmt_bytes(t.memory.sram_bytes), _fmt_bytes(t.memory.flash_bytes), ", ".join(t.paths))
    con.print(table)


def register(app: typer.Typer) -> None:
    @app.command("devices")
    def devices(ctx: typer.Context, targets_dir: Path = TARGETS_DIR_OPTION, as_json: bool = JSON_OPTION) -> None:
        """List the device profiles edgeport knows (id, compute, memory, execution paths)."""
        from edgeport.core.target import list_targets

        result = DeviceList(list_targets([targets_dir] if targets_dir else None))
        emit(ctx, "devices", "catalog", result, _render, as_json, save=False)
