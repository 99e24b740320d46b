"""``edgeport calibrate --device host|agent://HOST:PORT|browser [--runtime R] [--target ID] [MODEL...]``.

Measures the generated calibration family (and any models given) on the device through the runtime,
fits the cost model per precision and stores the fit, which ``check``, ``fit`` and ``optimize`` then
use for that device and runtime. A device other than the host times the runs on itself (an agent's
own loop, the page's ``performance.now()``) and its fit is filed under the device's profile.
"""

from __future__ import annotations

from pathlib import Path

import typer

from edgeport.cli._common import JSON_OPTION, emit


def register(app: typer.Typer) -> None:
    @app.command("calibrate")
    def calibrate_cmd(ctx: typer.Context,
                      models: list[Path] = typer.Argument(None, help="Extra ONNX/TFLite models to measure."),
                      device: str = typer.Option("host", "--device", "-d",
                                                 help="Where to measure: host, agent://HOST:PORT or browser."),
                      target: str = typer.Option(None, "--target", "-t",
                                                 help="The device profile a non-host device's fit is filed under "
                                                      "(default: the profile naming that device)."),
                      runtime: str = typer.Option(None, "--runtime", "-r",
                                                  help="Runtime to measure with, on the device (default: "
                                                       "onnxruntime; the browser runs onnxruntime-web)."),
                      threads: int = typer.Option(1, "--threads", help="Threads the runtime uses."),
                      no_family: bool = typer.Option(False, "--no-family",
                                                     help="Measure only the given models, not the generated family."),
                      as_json: bool = JSON_OPTION) -> None:
        """Measure calibration networks on a device and fit the latency predictor's terms to them."""
        from edgeport import calibrate
        from edgeport.cli._common import store_from
        from edgeport.report.terminal_targets import render_calibration

        store = store_from(ctx)
        result = calibrate(device, runtime, models or (), target=target, family=not no_family, threads=threads, store=store)
        emit(ctx, "calibrate", f"{device}/{result.runtime}", result, render_calibration, as_json,
             passed=bool(result.calibrations))
        if not result.calibrations:
            raise typer.Exit(1)
