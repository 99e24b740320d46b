"""``edgeport profile MODEL``: parameters, weight bytes, MACs/FLOPs, top layers and per-op-type totals."""

from __future__ import annotations

import typer

from edgeport.cli._common import INPUT_OPTION, JSON_OPTION, SHAPE_OPTION, emit


def register(app: typer.Typer) -> None:
    @app.command()
    def profile(ctx: typer.Context,
                model: str = typer.Argument(..., help="Model file: .onnx, .tflite, or a torch.export .pt2."),
                top: int = typer.Option(10, "--top", help="Show the N layers with the most MACs (0: none)."),
                by_op: bool = typer.Option(False, "--by-op", help="Also show totals per op type."),
                dims: str = typer.Option(None, "--dims", help="Bind symbolic dims, e.g. batch=8,seq=128 "
                                                              "[default: each 1]."),
                shapes: list[str] = SHAPE_OPTION, values: list[str] = INPUT_OPTION,
                as_json: bool = JSON_OPTION) -> None:
        """Count parameters, weight bytes and MACs/FLOPs of MODEL, per layer and per op type.

        MACs count convolution and matrix-product multiply-accumulates only (like PyTorch's
        FlopCounterMode, whose FLOPs are 2 × MACs); FLOPs add pooling, normalisation,
        elementwise ops, Resize and Softmax.
        """
        from functools import partial

        from edgeport import profile as run_profile
        from edgeport.cli._common import parse_list
        from edgeport.errors import ConfigError
        from edgeport.report.terminal_measure import render_profile

        bindings: dict[str, int] = {}
        for item in parse_list(dims):
            key, sep, value = item.partition("=")
            if not sep or not value.strip().isdigit() or int(value) < 1:
                raise ConfigError(f"--dims: {item!r} is not NAME=POSITIVE_INT", fix="e.g. --dims batch=8")
            bindings[key.strip()] = int(value)
        result = run_profile(model, dims=bindings or None, shapes=shapes, inputs=values)
        emit(ctx, "profile", result.model, result, partial(render_profile, top=top, by_op=by_op), as_json)
