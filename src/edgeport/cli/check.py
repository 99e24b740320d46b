"""``edgeport check MODEL --target a,b,c``: operator coverage, partitions and memory fit across targets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from edgeport.cli._common import INPUT_OPTION, JSON_OPTION, SHAPE_OPTION, emit, parse_list
from edgeport.cli.devices import TARGETS_DIR_OPTION


def register(app: typer.Typer) -> None:
    @app.command("check")
    def check(ctx: typer.Context, model: Path = typer.Argument(..., help="ONNX or TFLite model."),
              target: str = typer.Option("pixel-8,iphone-15-pro,cortex-m7", "--target", "-t",
                                         help="Comma-separated target ids (edgeport devices)."),
              targets_dir: Path = TARGETS_DIR_OPTION, shapes: list[str] = SHAPE_OPTION,
              values: list[str] = INPUT_OPTION, as_json: bool = JSON_OPTION) -> None:
        """Which nodes run where on each target, partitions, CPU fallbacks, memory fit, estimated latency."""
        from edgeport import check as check_model
        from edgeport.report.terminal_targets import render_check

        from edgeport.cli._common import store_from
        from edgeport.predict.calibration import load_calibrations

        result = check_model(model, parse_list(target), target_dirs=[targets_dir] if targets_dir else None,
                             shapes=shapes, inputs=values, calibrations=load_calibrations(store_from(ctx)))
        emit(ctx, "check", str(model), result, render_check, as_json)
