"""Write a result's JSON (the versioned schema) and its HTML view, atomically."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from edgeport.report.schema import envelope

__all__ = ["atomic_write_text", "write_report"]


def atomic_write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_report(kind: str, result: Any, json_path: Path, html_path: Path | None) -> dict[str, Any]:
    """Write ``result`` as the JSON envelope and (optionally) its self-contained HTML page."""
    doc = envelope(kind, result)
    atomic_write_text(json_path, json.dumps(doc, indent=1))
    if html_path is not None:
        from edgeport.report.html import render

        atomic_write_text(html_path, render(doc))
    return doc
