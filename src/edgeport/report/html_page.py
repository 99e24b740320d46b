"""The pieces every HTML view is built from: escaping, numbers, tables, and the self-contained page.

Works offline: CSS inline, plotly.js inlined from the installed ``plotly`` package (no CDN), the
data as JSON in the page. Without plotly installed the page still renders every table and says
the plots need ``edgeport[report]``.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["esc", "num", "page", "pct", "table", "td"]

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#14213d;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;opacity:.8;font-size:13px}main{padding:8px 28px 40px;max-width:1400px}
section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;margin:18px 0;padding:14px 18px}
h2{font-size:17px;margin:4px 0 12px}table{border-collapse:collapse;font-size:12.5px;width:100%}
th,td{border-bottom:1px solid #eceef2;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f2f4f7;position:sticky;top:0}td.num{text-align:right;font-variant-numeric:tabular-nums}
.ok{color:#0a7d32;font-weight:600}.bad{color:#b42318;font-weight:600}.warn{color:#b54708}
.pick{background:#eef8f0}.note{font-size:12.5px;color:#555}.plot{width:100%;height:420px}
.scroll{max-height:420px;overflow:auto}code{font-size:12px}
"""


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def num(value: Any, fmt: str = "{:.4g}") -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return esc(value)
    try:
        return fmt.format(value)
    except (ValueError, TypeError):
        return esc(value)


def pct(value: Any) -> str:
    return "—" if value is None else f"{value * 100:.2f}%"


def table(headers: Sequence[str], rows: Iterable[Sequence[str]], row_classes: Sequence[str] | None = None) -> str:
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = []
    for i, row in enumerate(rows):
        cls = f' class="{row_classes[i]}"' if row_classes and row_classes[i] else ""
        body.append(f"<tr{cls}>" + "".join(row) + "</tr>")
    return f'<div class="scroll"><table><thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>'


def td(value: str, numeric: bool = False, cls: str = "") -> str:
    """A table cell; ``numeric`` right-aligns it with tabular figures."""
    classes = " ".join(c for c in ("num" if numeric else "", cls) if c)
    return f'<td class="{classes}">{value}</td>' if classes else f"<td>{value}</td>"


def _plotly_js() -> str | None:
    try:
        from plotly.offline import get_plotlyjs
    except ImportError:
        return None
    return str(get_plotlyjs())


def page(title: str, subtitle: str, sections: list[str], plots: dict[str, Any]) -> str:
    js = _plotly_js() if plots else None
    if plots and js is None:
        sections.insert(0, '<section><p class="warn">Plots need plotly: pip install "edgeport[report]".</p></section>')
    script = ""
    if js is not None:
        data = json.dumps(plots).replace("</", "<\\/")
        script = (f"<script>{js}</script><script>const PLOTS={data};"
                  "for(const [id,p] of Object.entries(PLOTS)){const el=document.getElementById(id);"
                  "if(el){Plotly.newPlot(el,p.data,p.layout,{responsive:true,displaylogo:false});}}</script>")
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><style>{_CSS}</style></head>"
            f"<body><header><h1>{esc(title)}</h1><p>{esc(subtitle)}</p></header><main>{''.join(sections)}</main>"
            f"{script}</body></html>")
