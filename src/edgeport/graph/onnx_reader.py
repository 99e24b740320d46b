"""ONNX → ``Graph`` (with shape inference, symbolic dims kept) and ONNX I/O specs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from edgeport._optional import require
from edgeport.core.tensors import TensorSpec
from edgeport.errors import ModelFileError

__all__ = ["load_onnx", "read_io"]


def load_onnx(path: Path, *, load_external_data: bool = True) -> Any:
    """``onnx.ModelProto`` or ``ModelFileError`` for a truncated/corrupt file."""
    onnx = require("onnx", "onnx", "reading ONNX models")
    try:
        model = onnx.load_model(str(path), load_external_data=load_external_data)
    except Exception as exc:  # DecodeError and friends
        raise ModelFileError(f"{path}: truncated or corrupt ONNX file ({type(exc).__name__})",
                             fix="re-export the model") from exc
    if not model.graph.node and not model.graph.output:
        raise ModelFileError(f"{path}: ONNX file holds no graph", fix="re-export the model")
    return model


def _dim(d: Any) -> int | str | None:
    if d.HasField("dim_value"):
        return int(d.dim_value)
    if d.HasField("dim_param"):
        return str(d.dim_param)
    return None


def value_info_spec(vi: Any) -> TensorSpec:
    from onnx import helper

    tt = vi.type.tensor_type
    dtype = helper.tensor_dtype_to_np_dtype(tt.elem_type).name if tt.elem_type else "float32"
    shape = tuple(_dim(d) for d in tt.shape.dim) if tt.HasField("shape") else ()
    layout = "NCHW" if len(shape) == 4 else None
    return TensorSpec(vi.name, dtype, shape, layout)


def read_io(path: Path) -> tuple[tuple[TensorSpec, ...], tuple[TensorSpec, ...], dict[str, Any]]:
    model = load_onnx(path, load_external_data=False)
    inits = {i.name for i in model.graph.initializer}
    ins = tuple(value_info_spec(v) for v in model.graph.input if v.name not in inits)
    outs = tuple(value_info_spec(v) for v in model.graph.output)
    opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    meta = {"opset": opset, "ir_version": model.ir_version, "producer": model.producer_name}
    return ins, outs, meta
