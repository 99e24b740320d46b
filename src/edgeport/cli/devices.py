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


def register(app: typer.Typer) -> None:
    @app.command("devices")
    def devices(ctx: typer.Context, targets_dir: Path = TARGETS_DIR_OPTION, as_json: bool = JSON_OPTION) -> None:
        """List the device profiles edgeport knows (id, compute, memory, execution paths)."""
        from edgeport.core.target import list_targets
        from edgeport.report.terminal_targets import render_devices

        result = DeviceList(list_targets([targets_dir] if targets_dir else None))
        emit(ctx, "devices", "catalog", result, render_devices, as_json, save=False)
