"""Which precision an artifact computes in: what its own step recorded, else what the model file holds.

The verifier judges a test artifact by its precision's tolerance family, so this is read once here and
shared by comparison, localisation and the fidelity matrix.
"""

from __future__ import annotations

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.core.precision import Precision
from edgeport.errors import ConfigError, EdgeportError

__all__ = ["infer_precision", "recorded_precision"]

# ONNX TensorProto data types
_ONNX_UINT16, _ONNX_INT16, _ONNX_FLOAT16, _ONNX_BFLOAT16 = 4, 5, 10, 16
_ONNX_STATIC_OPS = frozenset({"QuantizeLinear", "QLinearConv", "QLinearMatMul"})
_ONNX_DYNAMIC_OPS = frozenset({"DynamicQuantizeLinear", "DynamicQuantizeLSTM", "ConvInteger", "MatMulInteger"})


def recorded_precision(artifact: Artifact) -> Precision | None:
    """The precision the artifact's own step was asked for, or its metadata records; ``None`` if neither.

    Only the artifact's own step counts (a parent's precision says nothing about a later step). A
    recorded value this version does not know is treated as not recorded: the file is read instead.
    """
    values = [artifact.step.options.get("precision") if artifact.step is not None else None,
              artifact.metadata.get("precision")]
    for value in values:
        if value:
            try:
                return Precision.parse(str(value))
            except ConfigError:
                continue
    return None


def infer_precision(artifact: Artifact) -> Precision:
    """What ``artifact`` computes in: its recorded precision, then its I/O dtypes, then the model itself."""
    recorded = recorded_precision(artifact)
    if recorded is not None:
        return recorded
    if any(s.dtype in ("int8", "uint8") for s in (*artifact.inputs, *artifact.outputs)):
        return Precision.INT8
    try:
        if artifact.format is Format.ONNX:
            return _onnx_precision(artifact)
        if artifact.format is Format.TFLITE:
            return _tflite_precision(artifact)
    except EdgeportError:  # unreadable, or its reader is not installed: running it fails later, properly
        return Precision.FP32
    return Precision.FP32


def _onnx_precision(artifact: Artifact) -> Precision:
    from edgeport.graph.onnx_reader import load_onnx

    graph = load_onnx(artifact.path, load_external_data=False).graph
    ops = {n.op_type for n in graph.node}
    if ops & _ONNX_STATIC_OPS:
        inits = {i.name: i.data_type for i in graph.initializer}
        zero_points = [n.input[2] for n in graph.node if n.op_type == "QuantizeLinear" and len(n.input) > 2]
        if any(inits.get(z) in (_ONNX_INT16, _ONNX_UINT16) for z in zero_points):
            return Precision.INT16X8
        return Precision.INT8
    if ops & _ONNX_DYNAMIC_OPS:
        return Precision.INT8_DYNAMIC
    types = {i.data_type for i in graph.initializer}
    if _ONNX_FLOAT16 in types:
        return Precision.FP16
    if _ONNX_BFLOAT16 in types:
        return Precision.BF16
    return Precision.FP32


def _tflite_precision(artifact: Artifact) -> Precision:
    from edgeport.graph.load import load_graph

    tensors = list(load_graph(artifact).tensors.values())
    dtypes = {t.dtype for t in tensors}
    if "int16" in dtypes:
        return Precision.INT16X8
    if any(t.dtype in ("int8", "uint8") and not t.is_constant for t in tensors):
        return Precision.INT8  # integer activations: full-integer quantisation
    if dtypes & {"int8", "uint8"}:
        return Precision.INT8_DYNAMIC  # int8 weights only: dynamic-range quantisation
    if "float16" in dtypes:
        return Precision.FP16
    if "bfloat16" in dtypes:
        return Precision.BF16
    return Precision.FP32
