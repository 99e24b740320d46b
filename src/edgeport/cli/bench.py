"""``edgeport bench MODEL``: latency percentiles with a CI, throughput, load time, memory — per runtime × threads."""

from __future__ import annotations

from typing import Any

import typer

from edgeport.cli._common import JSON_OPTION, emit, parse_ints, parse_list


def render_conditions(conditions: Any, con: Any) -> None:
    from rich.markup import escape

    c = conditions
    con.print(f"[dim]conditions: {escape(c.summary_line())}[/dim]")
    con.print(f"[dim]Python {c.python}, edgeport {c.edgeport}, {escape(c.os)}; "
              + escape(", ".join(f"{k} {v}" for k, v in c.versions.items() if v)) + "[/dim]")
    if c.loaded:
        con.print(f"[bold yellow]⚠ loaded machine: {escape(c.loaded_reason)} — these numbers are not comparable "
                  "with a quiet machine's[/bold yellow]")


def _render(matrix: Any, con: Any) -> None:
    from rich.markup import escape
    from rich.table import Table

    rows = matrix.rows
    table = Table(title=f"{escape(matrix.model)} ({matrix.format}), batch {rows[0].batch if rows else 1}, "
                        f"{escape(rows[0].inputs if rows else '')}")
    for col in ("runtime", "threads", "median ms", "p90 ms", "p99 ms", "95% CI (median)", "throughput/s",
                "load ms", "first run ms", "peak RSS Δ MB", "runs"):
        table.add_column(col, no_wrap=True, justify="left" if col == "runtime" else "right")
    for r in rows:
        s = r.latency_ms
        rss = "" if r.peak_rss_delta_mb is None else f"{r.peak_rss_delta_mb:.1f}"
        table.add_row(escape(r.runtime), str(r.threads or "default"), f"{s.median:.4g}", f"{s.p90:.4g}",
                      f"{s.p99:.4g}", f"{s.ci95_low:.4g}–{s.ci95_high:.4g}", f"{r.throughput:.1f}",
                      f"{r.load_ms:.1f}", f"{r.first_run_ms:.3g}", rss, str(r.runs))
    con.print(table)
    if rows:
        first, last = rows[0].conditions, rows[-1].conditions
        from dataclasses import replace

        merged = replace(first, load_after=last.load_after,
                         versions={k: v for r in rows for k, v in r.conditions.versions.items()},
                         loaded=any(r.conditions.loaded for r in rows),
                         loaded_reason=next((r.conditions.loaded_reason for r in rows if r.conditions.loaded), ""))
        render_conditions(merged, con)


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
              as_json: bool = JSON_OPTION) -> None:
        """Measure latency (median, p90, p99, CI), throughput, load time and memory of MODEL."""
        from edgeport.bench.harness import BenchmarkConfig
        from edgeport.bench.matrix import bench_matrix
        from edgeport.core.artifact import load_artifact
        from edgeport.data.datasets import load_dataset
        from edgeport.errors import ConfigError

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
        if warmup is not None:
            kwargs["warmup_runs"] = warmup
        config = BenchmarkConfig(**kwargs)
        dataset = load_dataset(data) if data else None
        result = bench_matrix(artifact, parse_list(runtime), thread_counts, dataset, config, provider)
        emit(ctx, "bench", str(artifact.path), result, _render, as_json)
