"""``edgeport fit MODEL --device stm32h743``: does the model fit the device's RAM and flash?"""

from __future__ import annotations

from pathlib import Path

import typer

from edgeport.cli._common import INPUT_OPTION, JSON_OPTION, SHAPE_OPTION, emit
from edgeport.cli.devices import TARGETS_DIR_OPTION


def register(app: typer.Typer) -> None:
    @app.command("fit")
    def fit_cmd(ctx: typer.Context, model: Path = typer.Argument(None, help="ONNX or TFLite model."),
                device: str = typer.Option("cortex-m7", "--device", "-d", help="Target id (edgeport devices)."),
                example: str = typer.Option(None, "--example", help="A built-in example instead of MODEL: "
                                                                    "person-detect (int8 [96x96x1] CNN)."),
                measure: bool = typer.Option(None, "--measure/--no-measure",
                                             help="Also link edgeport's MCU C for the part and report measured "
                                                  "flash/RAM and QEMU instructions [default: int8 .tflite on a "
                                                  "Cortex-M part]."),
                inplace: bool = typer.Option(False, "--inplace", help="Let Reshape/Squeeze alias their input."),
                targets_dir: Path = TARGETS_DIR_OPTION, shapes: list[str] = SHAPE_OPTION,
                values: list[str] = INPUT_OPTION, as_json: bool = JSON_OPTION) -> None:
        """Tensor-arena and flash estimate (TFLite Micro planner) against a device; what to change if short."""
        from edgeport import fit
        from edgeport.core.target import get_target
        from edgeport.report.terminal_targets import render_fit

        from edgeport.errors import ConfigError

        if (model is None) == (example is None):
            raise ConfigError("give a MODEL or --example, not both or neither", fix="e.g. edgeport fit --example "
                              "person-detect --device stm32f746")
        if example is not None:
            if example != "person-detect":
                raise ConfigError(f"unknown example {example!r}", fix="use --example person-detect")
            from edgeport.data.examples import person_detect_model_path

            model = person_detect_model_path()
        tgt = get_target(device, [targets_dir] if targets_dir else None)
        from edgeport.cli._common import store_from
        from edgeport.predict.calibration import load_calibrations

        if measure is None:
            measure = tgt.is_mcu and model.suffix == ".tflite"
        result = fit(model, tgt, inplace=inplace, shapes=shapes, inputs=values, latency=True,
                     calibrations=load_calibrations(store_from(ctx)))
        if measure:
            from edgeport.analysis.mcu_fit import measure_mcu

            result.measured = measure_mcu(model, tgt)
        emit(ctx, "fit", str(model), result, render_fit, as_json, passed=result.fits)
        if not result.fits:
            raise typer.Exit(1)
