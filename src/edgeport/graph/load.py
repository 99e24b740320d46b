"""``load_graph``: the one way to get a model's analysis ``Graph``.

Every analysis (profile, memory, compat, dynamic-shape checks, the study's target checks) reads
its graph here, so a model is read once per process however many targets or analyses look at it:
file-backed graphs are cached by path, inode, modification time and size (an edited or replaced
file is read again). The graph returned is shared: treat it as read-only (``dataclasses.replace``
makes a variant).

Graphs are read from ONNX and TFLite (``GRAPH_FORMATS``); other formats are converted to one of
them first (``edgeport convert``; ``profile`` does that itself for a ``.pt2``).
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import TYPE_CHECKING

from edgeport.core.formats import Format, detect_format
from edgeport.errors import ModelFileError, UnsupportedError
from edgeport.graph.ir import Graph

if TYPE_CHECKING:
    from onnx import ModelProto

    from edgeport.core.artifact import Artifact

__all__ = ["GRAPH_FORMATS", "clear_graph_cache", "load_graph"]

GRAPH_FORMATS = (Format.ONNX, Format.TFLITE)

_CACHE_SIZE = 64
_CACHE: OrderedDict[tuple[str, int, int, int], Graph] = OrderedDict()


def load_graph(model: Graph | Artifact | str | Path | ModelProto) -> Graph:
    """The analysis ``Graph`` of ``model``: a ``Graph`` (returned as is), an ``Artifact``, a path, or an
    ``onnx.ModelProto``.

    Raises ``ModelFileError`` for a missing, truncated or corrupt file and ``UnsupportedError`` for
    a format with no graph reader (the fix says to convert it to ONNX or TFLite).
    """
    if isinstance(model, Graph):
        return model
    if hasattr(model, "graph") and hasattr(model, "opset_import"):  # onnx.ModelProto: nothing to cache by
        from edgeport.graph.onnx_reader import read_graph

        return read_graph(model)
    path, fmt = _path_and_format(model)
    if fmt not in GRAPH_FORMATS:
        covered = ", ".join(f.value for f in GRAPH_FORMATS)
        raise UnsupportedError(f"{path.name}: the graph analyses (operator rules, memory planner) cover {covered} "
                               f"models, not {fmt.value}",
                               fix="convert the model first (edgeport convert MODEL --to onnx or --to tflite)")
    stat = path.stat()
    key = (str(path.resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)
    graph = _CACHE.get(key)
    if graph is None:
        graph = _read(path, fmt)
        _CACHE[key] = graph
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    else:
        _CACHE.move_to_end(key)
    return graph


def clear_graph_cache() -> None:
    """Forget every cached graph (the next ``load_graph`` reads the file again)."""
    _CACHE.clear()


def _path_and_format(model: Artifact | str | Path) -> tuple[Path, Format]:
    from edgeport.core.artifact import Artifact

    if isinstance(model, Artifact):
        if not model.path.exists():
            raise ModelFileError(f"{model.path}: no such file or directory", fix="check the path")
        return model.path, model.format
    path = Path(model)
    return path, detect_format(path)  # ModelFileError for a missing or unknown file


def _read(path: Path, fmt: Format) -> Graph:
    if fmt is Format.ONNX:
        from edgeport.graph.onnx_reader import read_graph

        return read_graph(path)
    from edgeport.graph.tflite_reader import read_graph as read_tflite

    return read_tflite(path)
