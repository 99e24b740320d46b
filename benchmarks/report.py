"""Write the suite's results: ``latest.json``, a dated copy ``YYYY-MM-DD.json`` and ``RESULTS.md``."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["PICK_MARK", "headline_rows", "render_markdown", "write_results"]

SCHEMA = "edgeport/benchmark-suite"
SCHEMA_VERSION = 1
PICK_MARK = "★ pick"  # marks edgeport's recommended variant in a model table


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_results(doc: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(doc, indent=1)
    paths = {"latest": out_dir / "latest.json", "dated": out_dir / f"{doc['date']}.json",
             "markdown": out_dir / "RESULTS.md"}
    _write_atomic(paths["latest"], text)
    _write_atomic(paths["dated"], text)
    _write_atomic(paths["markdown"], render_markdown(doc))
    return paths


# ---- markdown ------------------------------------------------------------------------------------
_PERCENT = {"ratio", "overhead", "difference", "cv_median", "cv_within", "peak_fraction", "accuracy", "block_cv"}
_SIGNED = {"overhead", "difference"}


def _fmt(key: str, value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "✓" if value else ""
    if isinstance(value, list):
        return ", ".join(_fmt(key, v) for v in value[:10])
    if isinstance(value, float):
        if key == "ratio":
            return f"{value:.2f}×"
        if key in _PERCENT:
            return f"{value * 100:+.2f}%" if key in _SIGNED else f"{value * 100:.1f}%"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        return f"{value:.4g}"
    return str(value).replace("|", "\\|")


def _conditions_line(c: dict[str, Any] | None, own_load: str = "") -> str:
    if not c:
        return "_conditions not recorded_"
    lb = c.get("load_before") or ["?"]
    la = c.get("load_after") or ["?"]
    fmt = (lambda v: f"{v:.2f}" if isinstance(v, (int, float)) else "?")
    text = (f"_conditions: {c.get('cpu_model')} ({' '.join(c.get('isa_flags') or [])}), "
            f"{c.get('usable_cores')}/{c.get('cores')} cores, threads {c.get('threads') or '—'}, "
            f"load {fmt(lb[0])} before / {fmt(la[0])} after, other processes busy "
            f"{fmt(c.get('foreign_cpu_before'))} / {fmt(c.get('foreign_cpu_after'))} cores_")
    if c.get("loaded") and own_load:
        text += f" — loaded on purpose: {own_load}"
    elif c.get("loaded"):
        text += f" — **⚠ LOADED MACHINE: {c.get('loaded_reason')}**"
    return text


def _table(t: dict[str, Any]) -> list[str]:
    keys = [c[0] for c in t["columns"]]
    cols = [c[1] for c in t["columns"]]
    lines = [f"#### {t['title']}", "", "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in t["rows"]:
        lines.append("| " + " | ".join(_fmt(k, row.get(k)) for k in keys) + " |")
    if not t["rows"]:
        lines.append("| " + " | ".join("—" for _ in cols) + " |")
    lines += ["", _conditions_line(t.get("conditions"), t.get("own_load", ""))]
    lines += [f"- {n}" for n in t.get("notes", [])]
    return lines + [""]


def headline_rows(doc: dict[str, Any]) -> list[dict[str, Any]]:
    """edgeport's pick against the fastest row of every other stack, per model table that has a pick row.

    ``vs_fastest`` compares with every row (int8 paths included, even ones whose accuracy was not
    checked); ``vs_fastest_fp32`` with the fastest float32 default of any stack.
    """
    out: list[dict[str, Any]] = []
    for suite in doc.get("suites", []):
        for table in suite.get("tables", []):
            rows = [r for r in table.get("rows", []) if isinstance(r.get("median_ms"), (int, float))]
            pick = next((r for r in rows if PICK_MARK in str(r.get("stack", ""))), None)
            others = [r for r in rows if r is not pick]
            if pick is None or not others:
                continue
            fastest = min(others, key=lambda r: r["median_ms"])
            fp32 = [r for r in others if r.get("precision") in ("fp32", "f32")]
            fastest_fp32 = min(fp32, key=lambda r: r["median_ms"]) if fp32 else None
            threads = (table.get("conditions") or {}).get("threads")
            out.append({
                "suite": suite.get("name"), "model": table["title"].split(":")[0], "threads": threads,
                "pick": f"{pick.get('how')} ({pick.get('precision')})", "pick_ms": pick["median_ms"],
                "pick_accuracy": pick.get("accuracy"),
                "fastest": f"{fastest.get('stack')} {fastest.get('precision')}", "fastest_ms": fastest["median_ms"],
                "fastest_accuracy": fastest.get("accuracy"),
                "vs_fastest": pick["median_ms"] / fastest["median_ms"],
                "fastest_fp32": None if fastest_fp32 is None else fastest_fp32.get("stack"),
                "vs_fastest_fp32": None if fastest_fp32 is None else pick["median_ms"] / fastest_fp32["median_ms"]})
    return out


def _headline(doc: dict[str, Any]) -> list[str]:
    rows = headline_rows(doc)
    if not rows:
        return []
    lines = ["## edgeport's pick vs every stack", "",
             "| model | threads | edgeport's pick | pick ms | accuracy | fastest other row | its ms | its accuracy "
             "| pick / fastest | fastest fp32 stack | pick / fastest fp32 |", "|" + "---|" * 11]
    for r in rows:
        lines.append(" | ".join(["", r["model"], _fmt("", r["threads"]), _fmt("", r["pick"]),
                                 _fmt("", r["pick_ms"]), _fmt("accuracy", r["pick_accuracy"]),
                                 _fmt("", r["fastest"]), _fmt("", r["fastest_ms"]),
                                 _fmt("accuracy", r["fastest_accuracy"]), _fmt("ratio", r["vs_fastest"]),
                                 _fmt("", r["fastest_fp32"]), _fmt("ratio", r["vs_fastest_fp32"]), ""]).strip())
    lines += ["", "Ratios below 1.00× mean the pick is faster. The pick is what `edgeport optimize` recommends "
              "for the host (the `study` suite); it must verify against the source, so a row it did not "
              "build (e.g. an int8 calibrated on synthetic inputs) can be faster and still not be a "
              "candidate. Medians of interleaved blocks, measured side by side in one table.", ""]
    return lines


def render_markdown(doc: dict[str, Any]) -> str:
    c = doc.get("conditions") or {}
    lines = [f"# edgeport benchmark results — {doc['date']}", ""]
    if doc.get("mode") == "smoke":
        lines += ["> **Smoke run** (one model, few iterations): checks the runner works; not a performance record.",
                  ""]
    if "interrupted" in str(doc.get("mode")):
        lines += ["> **Interrupted run**: the suites marked 'not run' below have no numbers in this record.", ""]
    if doc.get("loaded"):
        lines += ["> **⚠ Measured on a loaded machine** — at least one table was taken while other processes kept "
                  "the CPU busy; those numbers are not comparable with a quiet machine's.", ""]
    for u in doc.get("updates", []):
        lines += [f"> Suites re-run on {u['created']} inside this record: {', '.join(u['suites']) or 'none'}"
                  + (f" (failed, old numbers kept: {', '.join(u['failed_kept_old'])})" if u.get("failed_kept_old")
                     else "") + ".", ""]
    lines += [f"edgeport {doc.get('edgeport_version')} · Python {c.get('python')} · {c.get('os')} · "
              f"{c.get('cpu_model')} ({' '.join(c.get('isa_flags') or [])}), {c.get('cores')} cores · "
              f"wall {doc.get('wall_s', 0):.0f} s", ""]
    targets = [t for s in doc["suites"] for t in s.get("targets", [])]
    if targets:
        lines += ["## Targets", "", "| target | value | goal | met |", "|---|---|---|---|"]
        for t in targets:
            value = "—" if t["value"] is None else f"{t['value']:.3g}{t['unit']}"
            met = "—" if t["met"] is None else ("✓" if t["met"] else "✗")
            lines.append(f"| {t['name']} | {value} | {t['target']} | {met} |")
        lines.append("")
    lines += _headline(doc)
    for s in doc["suites"]:
        rerun = f", re-run {s['rerun']}" if s.get("rerun") else ""
        lines += [f"## {s['title']}", "", f"_suite `{s['name']}`, {s['seconds']:.1f} s{rerun}_", ""]
        if s.get("error"):
            lines += [f"**suite failed:** `{s['error']}`", ""]
        for t in s.get("tables", []):
            lines += _table(t)
        lines += [f"- {n}" for n in s.get("notes", [])]
        if s.get("skipped"):
            lines += ["", "Skipped:", ""] + [f"- {k['what']}: {k['reason']}" for k in s["skipped"]]
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"
