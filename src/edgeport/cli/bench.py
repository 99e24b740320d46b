"""``edgeport bench MODEL``: latency percentiles with a CI, throughput, load time, memory — per runtime × threads."""

from __future__ import annotations

from typing import Any

import typer

from edgeport.cli._common import (DEVICE_OPTION, INPUT_OPTION, JSON_OPTION, SHAPE_OPTION, TOKEN_FILE_OPTION, emit,
                                  parse_ints, parse_list, use_token_file)


def register(app: typer.Typer) -> None:
    @app.command()
    def bench(ctx: typer.Context,
              model: str = typer.Argument(..., help="Model file (.onnx, .pt2, ...)."),
              runtime: str = typer.Option(None, "--runtime", help="Runtime name(s), comma-separated "
                                                                  "[default: the best for the format]."),
              threads: str = typer.Option(None, "--threads", help="Thread counts, comma-separated (e.g. 1,2)."),
              data: str = typer.Option(None, "--data", help="Dataset (.npz or 'digits') to feed [default: "
                                                            "synthetic inputs]."),
              runs: int = typer.Option(None, "--runs", help="Timed runs (exactly this many unless --min-seconds)."),
              min_seconds: float = typer.Option(None, "--min-seconds", help="Minimum timed seconds per row."),
              warmup: int = typer.Option(None, "--warmup", help="Warm-up runs (at least; plus 0.5 s)."),
              batch: int = typer.Option(1, "--batch", help="Samples per run (for dynamic-batch models)."),
              provider: str = typer.Option(None, "--provider", help="ONNX Runtime execution provider: "
                                                                    "cpu, cuda, tensorrt."),
              ops: int = typer.Option(0, "--ops", help="Also time every operator with the runtime's own profiler "
                                                       "(separate runs) and show the N slowest.", metavar="N"),
              device: str = DEVICE_OPTION, token_file: str = TOKEN_FILE_OPTION,
              shapes: list[str] = SHAPE_OPTION, values: list[str] = INPUT_OPTION,
              as_json: bool = JSON_OPTION) -> None:
        """Measure latency (median, p90, p99, CI), throughput, load time and memory of MODEL; --ops N: where the
        time goes, operator by operator."""
        from edgeport import BenchmarkConfig, load_artifact, load_dataset
        from edgeport import bench as bench_matrix
        from edgeport.errors import ConfigError
        from edgeport.report.terminal_measure import render_bench

        use_token_file(token_file)
        artifact = load_artifact(model)
        thread_counts: list[int | None] = list(parse_ints(threads)) or [None]
        kwargs: dict[str, Any] = {"batch": batch}
        if runs is not None:
            if runs < 1:
                raise ConfigError(f"--runs must be ≥ 1, got {runs}", fix="e.g. --runs 100")
            kwargs.update(min_runs=runs, max_runs=runs if min_seconds is None else 100_000,
                          min_duration_s=0.0 if min_seconds is None else min_seconds)
        elif min_seconds is not None:
            kwargs["min_duration_s"] = min_seconds
        if ops < 0:
            raise ConfigError(f"--ops must be ≥ 0, got {ops}", fix="e.g. --ops 10")
        if warmup is not None:
            kwargs["warmup_runs"] = warmup
        config = BenchmarkConfig(**kwargs)
        dataset = load_dataset(data) if data else None
        result = bench_matrix(artifact, parse_list(runtime), thread_counts, dataset, config, provider,
                              shapes=shapes, inputs=values, device=device, ops=ops > 0)
        emit(ctx, "bench", str(artifact.path), result, lambda r, con: render_bench(r, con, top_ops=ops), as_json)
