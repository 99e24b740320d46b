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


def _ms(value: float) -> str:
    return f"{value:.3g}" if value < 100 else f"{value:.0f}"


def _render(matrix: Any, con: Any) -> None:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    rows = matrix.rows
    table = Table(title=f"{escape(matrix.model)} ({matrix.format}), batch {rows[0].batch if rows else 1}, "
                        f"{escape(rows[0].inputs if rows else '')}",
                  box=box.SIMPLE_HEAD, pad_edge=False, collapse_padding=True,
                  caption=f"{', '.join(sorted({str(r.runs) for r in rows}))} timed runs per row · times in ms · "
                          "CI95 ±: half the 95% CI of the median · RSS Δ: peak above pre-load, MB")
    for col in ("runtime", "thr", "median", "p90", "p99", "CI95 ±", "items/s", "load", "1st run", "RSS Δ"):
        table.add_column(col, justify="left" if col == "runtime" else "right", no_wrap=True,
                         min_width=max([len(r.runtime) for r in rows] + [7]) if col == "runtime" else None)
    for r in rows:
        s = r.latency_ms
        rss = "" if r.peak_rss_delta_mb is None else f"{r.peak_rss_delta_mb:.1f}"
        half = (s.ci95_high - s.ci95_low) / 2 / s.median * 100 if s.median else 0.0
        table.add_row(escape(r.runtime), str(r.threads or "-"), _ms(s.median), _ms(s.p90), _ms(s.p99),
                      f"{half:.1f}%", f"{r.throughput:,.0f}", _ms(r.load_ms), _ms(r.first_run_ms), rss)
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
        from edgeport import BenchmarkConfig, load_artifact, load_dataset
        from edgeport import bench as bench_matrix
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
