"""``edgeport fidelity SOURCE ARTIFACT... --data D``: one matrix, one row per artifact."""

from __future__ import annotations

import typer

from edgeport.cli._common import (DEVICE_OPTION, INPUT_OPTION, JSON_OPTION, SHAPE_OPTION, TOKEN_FILE_OPTION, emit,
                                  use_token_file)

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    @app.command("fidelity")
    def fidelity_cmd(
        ctx: typer.Context,
        source: str = typer.Argument(..., help="Source model (any format; .pt2 runs through PyTorch)."),
        artifacts: list[str] = typer.Argument(..., help="Converted / compressed artifacts to compare."),
        data: str = typer.Option(None, "--data", "-d", help="Dataset: built-in name (digits) or .npz file."),
        split: str = typer.Option("test", help="Dataset split (train/calibration/test/all)."),
        max_samples: int = typer.Option(None, "--max-samples", help="Use at most this many samples."),
        fail_on_divergence: bool = typer.Option(False, "--fail-on-divergence",
                                                help="Exit 1 when any artifact is outside tolerance."),
        localize: bool = typer.Option(False, "--localize", help="Find the first divergent layer of each failing "
                                                                "artifact."),
        precision: str = typer.Option(None, help="Precision for default tolerances (inferred per artifact)."),
        atol: float = typer.Option(None, "--atol", help="Override the absolute tolerance."),
        rtol: float = typer.Option(None, "--rtol", help="Override the relative tolerance."),
        min_cosine: float = typer.Option(None, "--min-cosine", help="Override the minimum cosine similarity."),
        min_top1: float = typer.Option(None, "--min-top1", help="Override the minimum top-1 agreement (0-1)."),
        max_accuracy_drop: float = typer.Option(None, "--max-accuracy-drop", help="Allowed accuracy drop (0-1)."),
        device: str = DEVICE_OPTION,
        token_file: str = TOKEN_FILE_OPTION,
        shapes: list[str] = SHAPE_OPTION,
        values: list[str] = INPUT_OPTION,
        as_json: bool = JSON_OPTION,
    ) -> None:
        """Fidelity matrix: errors, cosine, SNR, top-k agreement and accuracy delta of every artifact."""
        from edgeport.report.terminal_verify import render_fidelity
        from edgeport import InputPlan
        from edgeport.cli.verify import load_data, shaped, tolerance_overrides
        from edgeport.errors import VerificationFailed
        from edgeport.verify.fidelity import fidelity

        use_token_file(token_file)
        src, others = shaped(InputPlan.parse(shapes, values), source, list(artifacts))
        dataset = load_data(data, src)
        matrix = fidelity(src, others, dataset,
                          split=split if data is not None else "all", max_samples=max_samples, precision=precision,
                          overrides=tolerance_overrides(atol, rtol, min_cosine, min_top1, max_accuracy_drop),
                          localize=localize, device=device)
        if data is None:
            matrix.warnings.append("no --data given: compared on random inputs, not real data")
        emit(ctx, "fidelity", f"{src.name}: {len(artifacts)} artifacts", matrix, render_fidelity, as_json,
             passed=matrix.passed)
        if fail_on_divergence and not matrix.passed:
            bad = matrix.failed_rows()
            raise VerificationFailed(f"{len(bad)} of {len(matrix.rows)} artifacts outside tolerance: "
                                     + ", ".join(r.artifact.rsplit('/', 1)[-1] for r in bad),
                                     fix="run edgeport verify SOURCE ARTIFACT --localize on each")
