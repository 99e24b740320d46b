"""Sections and plots of the study report (input: the study's JSON document)."""

from __future__ import annotations

from typing import Any

from edgeport.report.html_page import esc, num, pct, table, td

__all__ = ["study_sections"]

_COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf", "#7f7f7f"]


def _mb(n: Any) -> str:
    return "—" if n is None else f"{n / 1e6:.3f} MB" if n >= 1e5 else f"{n / 1e3:.1f} KB"


def study_sections(data: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    cands: list[dict[str, Any]] = data.get("candidates", [])
    by_key = {c["key"]: c for c in cands}
    picks = {r["key"] for r in data.get("recommendations", []) if r.get("key")}
    pareto = set(data.get("pareto", []))
    sections = [_recommendations(data, by_key)]
    plots: dict[str, Any] = {}
    ok = [c for c in cands if c.get("status") == "ok" and c.get("latency_ms", {}).get("median") is not None]
    if ok:
        sections.append('<section><h2>Accuracy – latency – size trade-off (Pareto frontier)</h2>'
                        '<p class="note">Marker area ∝ file size; the line joins the non-dominated variants; '
                        'hover for details.</p><div id="pareto" class="plot"></div></section>')
        plots["pareto"] = _pareto_plot(ok, data.get("pareto", []), picks)
        sections.append('<section><h2>Latency distributions (host, batch 1)</h2><div id="latency" class="plot">'
                        '</div></section>')
        plots["latency"] = _latency_plot(ok)
    sections.append(_fidelity(cands, picks, pareto, data.get("source", {})))
    prof = data.get("profile")
    if isinstance(prof, dict) and prof.get("nodes"):
        sections.append('<section><h2>Per-layer MACs and activation memory (source model)</h2>'
                        f'<p class="note">{esc(_profile_summary(prof))}</p><div id="layers" class="plot"></div>'
                        '</section>')
        plots["layers"] = _layers_plot(prof)
    elif data.get("profile_error") or (isinstance(prof, dict) and prof.get("error")):
        why = data.get("profile_error") or prof["error"]  # type: ignore[index]
        sections.append(f'<section><h2>Profile</h2><p class="warn">{esc(why)}</p></section>')
    sections.append(_coverage(cands, data.get("targets", {})))
    sections.append(_lineage(cands))
    sections.append(_conditions(data.get("conditions", {})))
    return sections, plots


def _ms(v: float) -> str:
    return f"{v:.3g} ms" if v >= 1 else f"{v * 1e3:.3g} µs"


def estimate_text(e: dict[str, Any]) -> str:
    """An estimate document as one escaped phrase: value, interval, label (never a bare number)."""
    return esc(f"estimate ~{_ms(float(e['latency_ms']))} [{_ms(float(e['low_ms']))}–{_ms(float(e['high_ms']))}], "
               f"{e['label']}")


def energy_text(mj: Any, label: str) -> str:
    return f"{float(mj):.3g} mJ/inference ({label})" if mj is not None else label


def _recommendations(data: dict[str, Any], by_key: dict[str, Any]) -> str:
    rows, classes = [], []
    for r in data.get("recommendations", []):
        key = r.get("key")
        c = by_key.get(key or "", {})
        if key:
            device = data.get("targets", {}).get(r["target"], {}).get("measured_by")
            lat = num(r.get("latency_ms"), "{:.4f} ms") + (f" measured on {esc(device)}" if device else "") \
                if r.get("measured") else (
                "not measured here" + (f" ({estimate_text(r['estimate'])})" if r.get("estimate") else ""))
            if r.get("energy_label"):
                lat += f"<br>energy: {esc(energy_text(r.get('energy_mj'), r['energy_label']))}"
            rows.append([td(esc(r["target"])), td(f"<code>{esc(key)}</code>"), td(lat),
                         td(pct(r.get("accuracy")), True), td(_mb(r.get("size_bytes")), True),
                         td(esc(c.get("artifact", ""))), td(esc(r.get("reason")))])
            classes.append("pick")
        else:
            closest = ", ".join(r.get("closest", [])) or "none"
            rows.append([td(esc(r["target"])), td('<span class="bad">none</span>'), td("—"), td("—"), td("—"),
                         td(""), td(esc(f"{r.get('reason')}; closest: {closest}"))])
            classes.append("")
    cons = data.get("options", {}).get("constraints", {})
    cons_text = ", ".join(f"{k} = {v}" for k, v in cons.items() if v is not None) or "none"
    note = f'<p class="note">{esc(data.get("data_note"))}</p>' if data.get("data_note") else ""
    src = data.get("source", {})
    rejected = []
    for r in data.get("recommendations", []):
        items = "".join(f"<li><code>{esc(x['key'])}</code>: {esc(x['reason'])}</li>" for x in r.get("rejected", []))
        rejected.append(f"<details><summary>Why the others lost on {esc(r['target'])} "
                        f"({len(r.get('rejected', []))})</summary><ul>{items}</ul></details>")
    calib = "".join(f"<li>{esc(line)}</li>" for line in data.get("calibration", []))
    calib = (f'<details><summary>Latency calibrations this study added to</summary><ul>{calib}</ul></details>'
             if calib else "")
    return ("<section><h2>Recommendation</h2>"
            f"<p class=\"note\">Source: {esc(src.get('path'))} ({esc(src.get('format'))}, accuracy "
            f"{pct(src.get('accuracy'))} on {esc(src.get('samples'))} test samples). Data: {esc(data.get('data'))}. "
            f"Constraints: {esc(cons_text)}.</p>{note}"
            + table(["target", "pick", "latency (median)", "accuracy", "size", "artifact", "why"], rows, classes)
            + "".join(rejected) + calib + "</section>")


def _label(c: dict[str, Any]) -> str:
    return f"{c['format']} {c['precision']} · {c['runtime']} · {c['threads']}t"


def _pareto_plot(ok: list[dict[str, Any]], front: list[str], picks: set[str]) -> dict[str, Any]:
    formats = sorted({c["format"] for c in ok})
    traces = []
    max_size = max((c.get("size_bytes") or 1) for c in ok)
    for i, fmt in enumerate(formats):
        group = [c for c in ok if c["format"] == fmt]
        traces.append({
            "type": "scatter", "mode": "markers", "name": fmt,
            "x": [c["latency_ms"]["median"] for c in group],
            "y": [_quality(c) for c in group],
            "text": [f"{c['key']}<br>{_mb(c.get('size_bytes'))}" + (" — PICK" if c["key"] in picks else "")
                     for c in group],
            "hovertemplate": "%{text}<br>%{x:.4f} ms, quality %{y:.4f}<extra></extra>",
            "marker": {"size": [8 + 30 * ((c.get("size_bytes") or 1) / max_size) ** 0.5 for c in group],
                       "color": _COLORS[i % len(_COLORS)], "opacity": 0.75,
                       "line": {"width": [3 if c["key"] in picks else 0 for c in group], "color": "#000"}}})
    by_key = {c["key"]: c for c in ok}
    pts = sorted((by_key[k] for k in front if k in by_key), key=lambda c: c["latency_ms"]["median"])
    traces.append({"type": "scatter", "mode": "lines", "name": "Pareto frontier", "line": {"dash": "dot",
                   "color": "#444"}, "x": [c["latency_ms"]["median"] for c in pts], "y": [_quality(c) for c in pts],
                   "hoverinfo": "skip"})
    return {"data": traces, "layout": {"xaxis": {"title": {"text": "median latency (ms, log)"}, "type": "log"},
                                       "yaxis": {"title": {"text": "accuracy (or agreement with source)"},
                                                 "range": _quality_range(ok)},
                                       "margin": {"t": 40}, "legend": {"orientation": "h", "y": 1.12}}}


def _quality_range(ok: list[dict[str, Any]]) -> list[float]:
    values = [q for q in (_quality(c) for c in ok) if q is not None] or [0.0, 1.0]
    low, high = min(values), max(values)
    pad = max(0.005, (high - low) * 0.15)
    return [max(0.0, low - pad), min(1.0, high) + pad]


def _quality(c: dict[str, Any]) -> float | None:
    return c.get("accuracy") if c.get("accuracy") is not None else c.get("agreement")


def _latency_plot(ok: list[dict[str, Any]]) -> dict[str, Any]:
    ordered = sorted(ok, key=lambda c: c["latency_ms"]["median"])
    traces = [{"type": "box", "name": _label(c), "y": c.get("latency_samples_ms") or [c["latency_ms"]["median"]],
               "boxpoints": "outliers", "marker": {"size": 3, "color": _COLORS[i % len(_COLORS)]}} for i, c in enumerate(ordered)]
    return {"data": traces, "layout": {"yaxis": {"title": {"text": "latency (ms)"}, "type": "log"},
                                       "showlegend": False, "margin": {"t": 20, "b": 140}}}


def _fidelity(cands: list[dict[str, Any]], picks: set[str], pareto: set[str], source: dict[str, Any]) -> str:
    rows, classes = [], []
    for c in sorted(cands, key=lambda c: (c.get("status") != "ok", c.get("latency_ms", {}).get("median") or 1e9)):
        status = c.get("status")
        cls = "ok" if status == "ok" else "bad"
        lat = c.get("latency_ms", {})
        tags = (" ★" if c["key"] in picks else "") + (" ◆" if c["key"] in pareto else "")
        rows.append([
            td(f"<code>{esc(c['key'])}</code>{tags}"), td(f'<span class="{cls}">{esc(status)}</span>'),
            td(_mb(c.get("size_bytes")), True), td(pct(c.get("accuracy")), True),
            td(num(None if c.get("accuracy_delta") is None else c["accuracy_delta"] * 100, "{:+.2f} pt"), True),
            td(pct(c.get("agreement")), True), td(num(c.get("max_abs")), True), td(num(c.get("cosine"), "{:.6f}"), True),
            td("∞" if (c.get("snr_db") or 0) >= 1e9 else num(c.get("snr_db"), "{:.1f}"), True), td(num(lat.get("median"), "{:.4f}"), True),
            td(num(lat.get("p99"), "{:.4f}"), True),
            td(esc(c.get("error") or "; ".join(c.get("verification_failures", [])[:2])))])
        classes.append("pick" if c["key"] in picks else "")
    return ("<section><h2>Fidelity matrix and measurements</h2>"
            f"<p class=\"note\">Every variant ran the same {esc(source.get('samples'))} real test samples as the "
            "source; ★ recommended, ◆ Pareto-optimal. Latency: host, batch 1, ms.</p>"
            + table(["variant", "status", "size", "accuracy", "Δ acc", "top-1 agree", "max |err|", "cosine",
                      "SNR dB", "median", "p99", "error / divergence"], rows, classes) + "</section>")


def _profile_summary(prof: dict[str, Any]) -> str:
    macs = prof.get("macs") or prof.get("total_macs")
    params = prof.get("params") or prof.get("param_count")
    return f"{num(macs, '{:,}')} MACs, {num(params, '{:,}')} parameters"


def _layers_plot(prof: dict[str, Any]) -> dict[str, Any]:
    nodes = prof["nodes"][:200]
    names = [f"{n.get('name')} ({n.get('op_type')})" for n in nodes]
    macs = [n.get("macs") or 0 for n in nodes]
    act = [(n.get("activation_bytes") or n.get("output_bytes") or 0) / 1024 for n in nodes]
    return {"data": [{"type": "bar", "name": "MACs", "x": names, "y": macs},
                     {"type": "scatter", "mode": "lines+markers", "name": "output activation (KiB)", "x": names,
                      "y": act, "yaxis": "y2"}],
            "layout": {"yaxis": {"title": {"text": "MACs"}}, "margin": {"t": 20, "b": 160},
                       "yaxis2": {"title": {"text": "KiB"}, "overlaying": "y", "side": "right"},
                       "legend": {"orientation": "h"}}}


def _versus_native(device_ms: float, cand: dict[str, Any]) -> str:
    """The device's median beside the same artifact's median measured natively on this host."""
    host = (cand.get("latency_ms") or {}).get("median")
    if not isinstance(host, (int, float)) or host <= 0:
        return ""
    return f" vs {host:.4g} ms native ({esc(cand.get('runtime'))}, {device_ms / host:.1f}×)"


def _coverage(cands: list[dict[str, Any]], targets: dict[str, Any]) -> str:
    builds: dict[str, dict[str, Any]] = {}
    for c in cands:
        if c.get("targets"):
            builds.setdefault(c["build"], c)
    if not builds:
        return "<section><h2>Target coverage</h2><p class=\"note\">No target checks were recorded.</p></section>"
    ids = list(targets) or sorted({t for c in builds.values() for t in c["targets"]})
    rows = []
    for build, c in builds.items():
        cells = [td(f"<code>{esc(build)}</code>")]
        for t in ids:
            fit = c["targets"].get(t)
            if fit is None:
                cells.append(td("—"))
                continue
            est = f" · {estimate_text(fit['estimate'])}" if fit.get("estimate") else ""
            m = fit.get("measured") or {}
            if m.get("latency_ms", {}).get("median") is not None and not m.get("error"):
                est = f" · measured {m['latency_ms']['median']:.4g} ms median on {esc(m.get('device'))}"
                est += _versus_native(m["latency_ms"]["median"], c)
            cls = "ok" if fit.get("ok") else "bad"
            cells.append(td(f'<span class="{cls}">{"✓" if fit.get("ok") else "✗"}</span> {esc(fit.get("verdict"))}{est}'))
        rows.append(cells)
    return ("<section><h2>Target coverage</h2><p class=\"note\">Operator coverage, partitions and memory fit per "
            "device profile; latencies are measured on this host and on targets with a measuring device "
            "(an agent, the browser), and elsewhere estimated (edgeport.predict), each estimate with its "
            "interval and whether it is calibrated.</p>"
            + table(["build", *ids], rows) + "</section>")


def _lineage(cands: list[dict[str, Any]]) -> str:
    seen: dict[str, Any] = {}
    for c in cands:
        if c.get("lineage"):
            seen.setdefault(c["build"], c["lineage"])
    rows = []
    for build, chain in seen.items():
        steps = " → ".join(
            f"{esc(item['format'])}" + (f" <span class=\"note\">[{esc(item['step']['kind'])} "
                                       f"{esc(item['step']['name'])}]</span>" if item.get("step") else "")
            for item in chain)
        rows.append([td(f"<code>{esc(build)}</code>"), td(steps), td(esc(chain[-1]["path"]))])
    return "<section><h2>Lineage</h2>" + table(["build", "steps", "artifact"], rows) + "</section>"


def _conditions(cond: dict[str, Any]) -> str:
    rows = [[td(esc(k)), td(esc(v if not isinstance(v, (list, dict)) else ", ".join(map(str, v))
                                if isinstance(v, list) else v))] for k, v in cond.items()]
    return "<section><h2>Measurement conditions</h2>" + table(["field", "value"], rows) + "</section>"
