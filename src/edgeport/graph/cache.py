"""Read each model file's ``Graph`` once per process (studies check many targets per artifact)."""

from __future__ import annotations

from typing import Any

from edgeport.graph.ir import Graph

__all__ = ["graph_of"]

_CACHE: dict[tuple[str, float, int], Graph] = {}


def graph_of(artifact: Any) -> Graph:
    """The analysis graph of an ONNX or TFLite artifact, cached by path, mtime and size."""
    from edgeport.analysis.canonical import load_graph

    stat = artifact.path.stat()
    key = (str(artifact.path.resolve()), stat.st_mtime, stat.st_size)
    if key not in _CACHE:
        _CACHE[key] = load_graph(artifact)
    return _CACHE[key]
