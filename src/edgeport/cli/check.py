"""``edgeport check MODEL --target a,b,c``: operator coverage, partitions and memory fit across targets."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit, parse_list
from edgeport.cli.devices import TARGETS_DIR_OPTION


@dataclass
class TargetCheck:
    target: str
    compat: Any
    fit: Any


@dataclass
class CheckResult:
    model: str
    targets: list[TargetCheck] = field(default_factory=list)


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(ctx: typer.Context, model: Path = typer.Argument(..., help="ONNX or TFLite model."),
              target: str = typer.Option("pixel-8,iphone-15-pro,cortex-m7", "--target", "-t",
                                         help="Comma-separated target ids (edgeport devices)."),
              targets_dir: Path = TARGETS_DIR_OPTION, as_json: bool = JSON_OPTION) -> None:
        """Which nodes run where on each target, partitions, CPU fallbacks, memory fit, estimated latency."""
        from edgeport.analysis.canonical import load_graph
        from edgeport.analysis.compat import analyze
        from edgeport.analysis.memory import fit
        from edgeport.core.target import get_target
        from edgeport.report.terminal_targets import render_check

        extra = [targets_dir] if targets_dir else None
        tgts = [get_target(t, extra) for t in parse_list(target)]
        graph = load_graph(model)
        result = CheckResult(Path(model).name)
        for t in tgts:
            result.targets.append(TargetCheck(t.id, analyze(graph, t), fit(graph, t)))
        emit(ctx, "check", str(model), result, render_check, as_json)
