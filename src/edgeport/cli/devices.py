"""``edgeport devices``: the device catalog (shipped profiles + $EDGEPORT_TARGETS / --targets-dir)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit

TARGETS_DIR_OPTION = typer.Option(None, "--targets-dir", help="Extra directory of device profile .toml files.")


@dataclass
class Reachability:
    """Whether a target's measuring agent answers now (a short health call)."""

    device: str  # agent://HOST:PORT
    reachable: bool
    detail: str  # the agent's version, or why it cannot be reached


@dataclass
class DeviceList:
    devices: list[Any] = field(default_factory=list)
    agents: dict[str, Reachability] = field(default_factory=dict)  # target id -> its agent, checked now


def check_agents(targets: list[Any], timeout_s: float = 1.0) -> dict[str, Reachability]:
    """Each target measured by an agent, with whether that agent answers within ``timeout_s``."""
    from edgeport.runtimes.remote import reachable

    found = {}
    for t in targets:
        if t.measured_by.startswith("agent://"):
            ok, detail = reachable(t.measured_by, timeout_s)
            found[t.id] = Reachability(t.measured_by, ok, detail)
    return found


def register(app: typer.Typer) -> None:
    @app.command("devices")
    def devices(ctx: typer.Context, targets_dir: Path = TARGETS_DIR_OPTION, as_json: bool = JSON_OPTION) -> None:
        """List the device profiles edgeport knows (id, compute, memory, execution paths) and which measuring
        agents answer now."""
        from edgeport.core.target import list_targets
        from edgeport.report.terminal_targets import render_devices

        targets = list_targets([targets_dir] if targets_dir else None)
        result = DeviceList(targets, check_agents(targets))
        emit(ctx, "devices", "catalog", result, render_devices, as_json, save=False)
