"""Helpers shared by the ONNX passes: load/save, checks, calibration reader, node listing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from edgeport.core.artifact import Artifact
from edgeport.data.datasets import Dataset
from edgeport.errors import ConversionError, ModelFileError

__all__ = ["QUANTIZABLE_OPS", "calibration_reader", "check_onnx", "load_model", "quantizable_nodes", "save_model"]

# Operators whose weights/activations ORT quantises and that carry most of the error.
QUANTIZABLE_OPS = ("Conv", "ConvTranspose", "MatMul", "Gemm")


def load_model(path: Path) -> Any:
    import onnx

    try:
        return onnx.load(str(path))
    except Exception as exc:  # protobuf decode errors have many types
        raise ModelFileError(f"{path}: cannot read ONNX model ({str(exc)[:200]})", fix="re-export the model") from exc


def save_model(model: Any, path: Path) -> None:
    import onnx

    onnx.save_model(model, str(path), save_as_external_data=False)


def check_onnx(path: Path, pass_name: str) -> list[str]:
    """The model at ``path`` passes the ONNX checker and ONNX Runtime can create a session for it."""
    import onnx
    import onnxruntime as ort

    try:
        onnx.checker.check_model(str(path))
    except Exception as exc:  # ValidationError and friends
        raise ConversionError(f"result fails the ONNX checker: {str(exc).splitlines()[0][:300]}",
                              converter=pass_name, stage="post-check",
                              fix="try other pass options or report the model") from exc
    so = ort.SessionOptions()
    so.log_severity_level = 3
    try:
        ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own types
        raise ConversionError(f"ONNX Runtime cannot load the result: {str(exc).splitlines()[0][:300]}",
                              converter=pass_name, stage="post-check",
                              fix="try other pass options (e.g. QDQ format, another opset)") from exc
    return []


def quantizable_nodes(model: Any, op_types: tuple[str, ...] = QUANTIZABLE_OPS) -> list[tuple[str, str]]:
    """``(node name, op type)`` of the nodes a quantiser would quantise, in graph order."""
    return [(n.name, n.op_type) for n in model.graph.node if n.op_type in op_types and n.name]


def ensure_node_names(model: Any) -> Any:
    """Give unnamed nodes stable names (``nodes_to_exclude`` needs them)."""
    seen: set[str] = set()
    for i, node in enumerate(model.graph.node):
        if not node.name or node.name in seen:
            node.name = f"{node.op_type}_{i}"
        seen.add(node.name)
    return model


class _Reader:
    """An ``onnxruntime.quantization.CalibrationDataReader`` over a dataset split."""

    def __init__(self, artifact: Artifact, data: Dataset, batch_size: int) -> None:
        self._artifact = artifact
        self._data = data
        self._batch = batch_size
        self._it: Iterator[dict[str, np.ndarray]] | None = None

    def _batches(self) -> Iterator[dict[str, np.ndarray]]:
        for feeds in self._data.batches(self._artifact.inputs, self._batch):
            yield {k: np.ascontiguousarray(v) for k, v in feeds.items()}

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._it is None:
            self._it = self._batches()
        return next(self._it, None)

    def rewind(self) -> None:
        self._it = None

    def __len__(self) -> int:
        return -(-self._data.count // self._batch)


def calibration_reader(artifact: Artifact, data: Dataset, batch_size: int = 1) -> Any:
    """A ``CalibrationDataReader`` feeding ``data`` (already the calibration split) to ``artifact``."""
    from onnxruntime.quantization import CalibrationDataReader

    class Reader(_Reader, CalibrationDataReader):
        pass

    static = [s.shape[0] for s in artifact.inputs if s.shape and isinstance(s.shape[0], int)]
    return Reader(artifact, data, static[0] if static else batch_size)
