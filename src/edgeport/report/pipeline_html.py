"""Sections and plots of the pipeline report (input: the pipeline's JSON document).

The per-frame timeline is a Gantt chart: one row per frame, one bar per stage call from its start
to its end within the frame, the frame budget as a vertical line — sequential and parallel runs.
"""

from __future__ import annotations

from typing import Any

from edgeport.report.html_page import esc, num, pct, table, td

__all__ = ["pipeline_sections"]

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf"]


def pipeline_sections(data: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    sections = [_plans(data), _stages(data)]
    plots: dict[str, Any] = {}
    host = data.get("host")
    if host:
        sections.append(_host(data, host))
        colors = {name: _COLORS[i % len(_COLORS)] for i, name in enumerate(n for lv in data["levels"] for n in lv)}
        for mode in ("sequential", "parallel"):
            sections.append(f'<section><h2>Per-frame timeline, {mode} (host, first frames)</h2>'
                            f'<p class="note">Each bar is one stage call; the dashed line is the frame budget '
                            f'({num(data["budget_ms"])} ms).</p><div id="gantt-{mode}" class="plot"></div></section>')
            plots[f"gantt-{mode}"] = _gantt(host[mode]["timeline"], colors, data["budget_ms"])
        sections.append('<section><h2>Frame time distribution (host)</h2><div id="frames" class="plot"></div>'
                        '</section>')
        plots["frames"] = _frames(host, data["budget_ms"])
    return sections, plots


def _plans(data: dict[str, Any]) -> str:
    parts = [f'<section><h2>Choice per target (budget {num(data["budget_ms"])} ms, '
             f'{"mean frame" if data["budget_kind"] == "expected" else "every frame"})</h2>']
    for plan in data.get("plans", []):
        label = "measured per stage on this host" if plan["measured"] else "composed from estimates (estimated)"
        if not plan["met"]:
            parts.append(f'<h3>{esc(plan["target"])} — {label}</h3><p class="warn">{esc(plan["reason"])}</p>')
            rows = [[td(num(c["expected_frame_ms"]), True), td(num(c["worst_frame_ms"]), True),
                     td(esc(", ".join(f"{k}={v}" for k, v in c["keys"].items())))] for c in plan["closest"]]
            if rows:
                parts.append(table(["expected frame (ms)", "worst frame (ms)", "closest choice"], rows))
            continue
        parts.append(f'<h3>{esc(plan["target"])} — {label}: expected frame {num(plan["expected_frame_ms"])} ms, '
                     f'worst {num(plan["worst_frame_ms"])} ms</h3>')
        rows = [[td(esc(c["stage"])), td(f'<code>{esc(c["key"])}</code>'), td(num(c["latency_ms"]), True),
                 td(num(c["runs_per_frame"]), True), td(num(c["expected_ms"]), True), td(pct(c["accuracy"]), True),
                 td(pct(c["accuracy_drop"]), True), td(esc(c["why"]))] for c in plan["choices"]]
        parts.append(table(["stage", "variant", "latency (ms)", "runs/frame", "expected (ms)", "accuracy",
                            "drop", "why"], rows))
    for target, composed in (data.get("target_composed") or {}).items():
        text = "; ".join(f'{c["mode"]} {num(c["mean_ms"])} ms' for c in composed)
        parts.append(f'<p class="note">{esc(target)}: estimated from device-profile estimates (no interval): '
                     f'{esc(text)}</p>')
    return "".join(parts) + "</section>"


def _stages(data: dict[str, Any]) -> str:
    rows = []
    for s in data.get("stages", []):
        link = f'<a href="{esc(s["report_html"])}">report</a>' if s.get("report_html") else "—"
        rows.append([td(esc(s["stage"])), td(esc(s["rate"])), td(num(s["runs_per_frame"]), True),
                     td(f'{s["verified"]}/{s["candidates"]}', True), td(pct(s["source_accuracy"]), True),
                     td(num(s["seconds"], "{:.1f} s"), True), td(link)])
    return ('<section><h2>Stage studies</h2>' + table(["stage", "rate", "runs/frame", "verified", "source accuracy",
                                                         "study time", "study"], rows) + "</section>")


def _host(data: dict[str, Any], host: dict[str, Any]) -> str:
    composed = data.get("composed", [])
    rows = []
    for run, comp in zip((host["sequential"], host["parallel"]), composed):
        interval = (f'{num(comp["low_ms"])}–{num(comp["high_ms"])}' if comp.get("low_ms") is not None else "—")
        rows.append([td(esc(run["mode"])), td(num(run["median_ms"]), True), td(num(run["mean_ms"]), True),
                     td(num(run["p90_ms"]), True), td(num(run["p99_ms"]), True), td(num(run["fps"], "{:.0f}"), True),
                     td(num(comp["mean_ms"]), True), td(interval, True)])
    mem = host.get("resident_mb")
    runtimes = ", ".join(f"{esc(k)} +{v:.1f} MB" for k, v in (host.get("runtime_mb") or {}).items())
    return ('<section><h2>Measured on this host, end to end</h2>'
            + table(["run", "median (ms)", "mean (ms)", "p90", "p99", "FPS", "composed mean (ms)",
                     "composed interval"], rows)
            + f'<p class="note">{host["frames"]} frames; every chosen variant resident: '
              f'{"—" if mem is None else f"{mem:.1f} MB"}; runtimes in one process: {runtimes or "—"}; sharing the '
              f'process costs {num(data.get("mixed_runtime_overhead_ms"))} ms per frame (the mean frame composed '
              'from the stages timed in turn, minus timed back to back).'
              '</p></section>')


def _gantt(frames: list[list[dict[str, Any]]], colors: dict[str, str], budget: float) -> dict[str, Any]:
    traces: dict[str, dict[str, Any]] = {}
    for i, spans in enumerate(frames):
        for s in spans:
            t = traces.setdefault(s["stage"], {"type": "bar", "orientation": "h", "name": s["stage"], "x": [],
                                               "base": [], "y": [], "marker": {"color": colors.get(s["stage"])}})
            t["x"].append(s["end_ms"] - s["start_ms"])
            t["base"].append(s["start_ms"])
            t["y"].append(f"frame {i}")
    line = {"type": "line", "x0": budget, "x1": budget, "yref": "paper", "y0": 0, "y1": 1,
            "line": {"dash": "dash", "color": "#444"}}
    return {"data": list(traces.values()),
            "layout": {"barmode": "overlay", "xaxis": {"title": {"text": "ms from the frame's start"}},
                       "yaxis": {"autorange": "reversed"}, "shapes": [line], "margin": {"t": 20}}}


def _frames(host: dict[str, Any], budget: float) -> dict[str, Any]:
    traces = [{"type": "box", "name": mode, "x": host[mode]["frame_ms"], "boxpoints": "outliers"}
              for mode in ("sequential", "parallel")]
    line = {"type": "line", "x0": budget, "x1": budget, "yref": "paper", "y0": 0, "y1": 1,
            "line": {"dash": "dash", "color": "#444"}}
    return {"data": traces, "layout": {"xaxis": {"title": {"text": "frame time (ms)"}}, "shapes": [line],
                                       "showlegend": False, "margin": {"t": 20}}}
