"""Self-contained HTML views of result documents (the JSON envelope is the input).

Each kind of document has its sections in its own module (``study_html`` for studies, ``pipeline_html``
for pipelines, ``fleet_html`` for sweeps); the page itself (CSS, tables, inlined plotly.js) is built by
``html_page``.
"""

from __future__ import annotations

import json
from typing import Any

from edgeport.report.html_page import esc, page

__all__ = ["render"]


def render(doc: dict[str, Any]) -> str:
    """HTML for a result envelope (``{"schema": "edgeport/<kind>", "data": ...}``)."""
    kind = str(doc.get("schema", "")).removeprefix("edgeport/")
    data = doc.get("data", {})
    if kind == "study":
        from edgeport.report.study_html import study_sections

        sections, plots = study_sections(data)
        title = f"edgeport study — {data.get('model', '')}"
        subtitle = (f"study {data.get('study_id')} · {len(data.get('candidates', []))} candidates · "
                    f"edgeport {doc.get('edgeport_version')} · schema v{doc.get('schema_version')}")
        return page(title, subtitle, sections, plots)
    if kind == "pipeline":
        from edgeport.report.pipeline_html import pipeline_sections

        sections, plots = pipeline_sections(data)
        subtitle = (f"{len(data.get('stages', []))} stages · {data.get('frames')} frames on the host · "
                    f"edgeport {doc.get('edgeport_version')} · schema v{doc.get('schema_version')}")
        return page(f"edgeport pipeline — {data.get('name', '')}", subtitle, sections, plots)
    if kind == "fleet":
        from edgeport.report.fleet_html import fleet_sections

        subtitle = (f"{len(data.get('models', []))} models × {len(data.get('targets', []))} targets · "
                    f"edgeport {doc.get('edgeport_version')} · schema v{doc.get('schema_version')}")
        return page("edgeport fleet sweep", subtitle, fleet_sections(data), {})
    body = f"<section><h2>{esc(kind)}</h2><pre>{esc(json.dumps(data, indent=1)[:200000])}</pre></section>"
    return page(f"edgeport {kind}", f"schema v{doc.get('schema_version')}", [body], {})
