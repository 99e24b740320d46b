"""Sections of the fleet report (input: a sweep's ``edgeport/fleet`` JSON document): model × target → the
variant to ship, its latency (labelled measured or estimated), accuracy and size, and each model's study."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeport.report.html_page import esc, num, pct, table, td

__all__ = ["fleet_sections"]


def _mb(n: Any) -> str:
    return "—" if n is None else f"{n / 1e6:.3f} MB" if n >= 1e5 else f"{n / 1e3:.1f} KB"


def _name(path: Any) -> str:
    return Path(str(path)).name


def fleet_sections(data: dict[str, Any]) -> list[str]:
    return [_picks(data), _matrix(data), _studies(data), _run(data)]


def _latency(row: dict[str, Any]) -> str:
    value = row.get("latency_ms")
    if value is None:
        return "not measured" if not row.get("measured") else "—"
    return num(value, "{:.4f} ms") + ("" if row.get("measured") else " (estimate)")


def _picks(data: dict[str, Any]) -> str:
    rows, classes = [], []
    for r in data.get("rows", []):
        pick = r.get("pick")
        rows.append([td(esc(_name(r["model"]))), td(esc(r["target"])),
                     td(f"<code>{esc(pick)}</code>" if pick else '<span class="bad">none qualifies</span>'),
                     td(_latency(r), True), td(pct(r.get("accuracy")), True), td(_mb(r.get("size_bytes")), True),
                     td(esc(r.get("reason", "")))])
        classes.append("pick" if pick else "")
    return ("<section><h2>What to ship: model × target</h2>"
            '<p class="note">Latency is the median measured on this host or on the target\'s own device; a target '
            "with neither shows the device profile's estimate, labelled so.</p>"
            + table(["model", "target", "pick", "latency", "accuracy", "size", "why"], rows, classes) + "</section>")


def _matrix(data: dict[str, Any]) -> str:
    """The same picks as a grid: one row per model, one column per target."""
    targets = data.get("targets", [])
    cells: dict[tuple[str, str], dict[str, Any]] = {(r["model"], r["target"]): r for r in data.get("rows", [])}
    rows = []
    for m in data.get("models", []):
        row = [td(esc(_name(m["model"])))]
        for t in targets:
            r = cells.get((m["model"], t))
            if r is None or not r.get("pick"):
                row.append(td('<span class="bad">—</span>'))
            else:
                row.append(td(f"{esc(r.get('format'))} {esc(r.get('precision'))} · {esc(r.get('runtime'))}<br>"
                              f"{_latency(r)}"))
        rows.append(row)
    return "<section><h2>Fleet matrix</h2>" + table(["model", *targets], rows) + "</section>"


def _studies(data: dict[str, Any]) -> str:
    rows = [[td(esc(_name(m["model"]))), td(f"<code>{esc(m['study_id'])}</code>"),
             td(f"{m['ok']}/{m['candidates']}", True), td(str(m.get("resumed", 0)), True),
             td(pct(m.get("source_accuracy")), True), td(f"<code>{esc(m.get('report_html'))}</code>")]
            for m in data.get("models", [])]
    return ("<section><h2>Studies</h2>"
            + table(["model", "study", "candidates ok", "resumed", "source accuracy", "report"], rows) + "</section>")


def _run(data: dict[str, Any]) -> str:
    phases = ", ".join(f"{esc(k)} {v:.1f} s" for k, v in (data.get("phase_seconds") or {}).items())
    seconds = num(data.get("seconds"), "{:.1f}")
    return (f'<section><h2>Run</h2><p>executor <b>{esc(data.get("executor"))}</b> · {seconds} s in all'
            f"{(' · ' + phases) if phases else ''}</p></section>")
