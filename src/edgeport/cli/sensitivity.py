"""``edgeport sensitivity MODEL --data D``: per-layer quantisation sensitivity of an ONNX model."""

from __future__ import annotations

import typer

from edgeport.cli._common import INPUT_OPTION, JSON_OPTION, SHAPE_OPTION, emit

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("sensitivity")
    def sensitivity_cmd(
        ctx: typer.Context,
        model: str = typer.Argument(..., help="Float ONNX model."),
        data: str = typer.Option("digits", "--data", "-d", help="Dataset: built-in name or .npz file."),
        quantized: str = typer.Option(None, "--quantized", help="An already quantised model: report per-layer "
                                                                "SNR against MODEL instead of quantising."),
        per_channel: bool = typer.Option(False, "--per-channel", help="Per-channel weight quantisation."),
        max_samples: int = typer.Option(None, "--max-samples", help="Use at most this many test samples."),
        shapes: list[str] = SHAPE_OPTION,
        values: list[str] = INPUT_OPTION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Rank layers by how much quantising them (alone) hurts the output, most sensitive first."""
        from edgeport import InputPlan, load_dataset
        from edgeport.cli.verify import shaped
        from edgeport.compress.sensitivity import layer_sensitivity, quantized_layer_snr
        from edgeport.report.terminal_verify import render_sensitivity

        art, others = shaped(InputPlan.parse(shapes, values), model, [quantized] if quantized else [])
        dataset = load_dataset(data)
        if quantized:
            result = quantized_layer_snr(art, others[0], dataset, max_samples=max_samples or 16)
        else:
            result = layer_sensitivity(art, dataset, per_channel=per_channel, max_samples=max_samples)
        emit(ctx, "sensitivity", art.name, result, render_sensitivity, as_json)
