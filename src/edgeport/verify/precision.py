"""Which precision an artifact computes in: its own conversion step, its metadata, then the model itself.

The verifier judges a test artifact by its precision's tolerance family, so this is read once here and
shared by comparison, localisation and the fidelity matrix.
"""

from __future__ import annotations

from edgeport.core.artifact import Artifact
from edgeport.core.formats import Format
from edgeport.core.precision import Precision
from edgeport.errors import EdgeportError

__all__ = ["infer_precision"]

_INTEGER_ONNX_OPS = frozenset({"QuantizeLinear", "QLinearConv", "QLinearMatMul", "ConvInteger", "MatMulInteger",
                               "DynamicQuantizeLinear"})
_ONNX_FLOAT16 = 10  # onnx.TensorProto.FLOAT16


def infer_precision(artifact: Artifact) -> Precision:
    """The artifact's precision: what its own step or metadata declares, else what its tensors show."""
    if artifact.step is not None and artifact.step.options.get("precision"):
        return Precision.parse(str(artifact.step.options["precision"]))
    if artifact.metadata.get("precision"):
        return Precision.parse(str(artifact.metadata["precision"]))
    if any(s.dtype in ("int8", "uint8") for s in (*artifact.inputs, *artifact.outputs)):
        return Precision.INT8
    try:
        if artifact.format is Format.ONNX:
            return _onnx_precision(artifact)
        if artifact.format is Format.TFLITE:
            return _tflite_precision(artifact)
    except EdgeportError:  # an unreadable model fails later, where it is run, with its own error
        return Precision.FP32
    return Precision.FP32


def _onnx_precision(artifact: Artifact) -> Precision:
    from edgeport.graph.onnx_reader import load_onnx

    model = load_onnx(artifact.path, load_external_data=False)
    ops = {n.op_type for n in model.graph.node}
    if ops & _INTEGER_ONNX_OPS:
        return Precision.INT8_DYNAMIC if "DynamicQuantizeLinear" in ops else Precision.INT8
    if any(i.data_type == _ONNX_FLOAT16 for i in model.graph.initializer):
        return Precision.FP16
    return Precision.FP32


def _tflite_precision(artifact: Artifact) -> Precision:
    from edgeport.graph.load import load_graph

    dtypes = {t.dtype for t in load_graph(artifact).tensors.values()}
    if dtypes & {"int8", "uint8", "int16"}:
        return Precision.INT8  # full-integer or dynamic-range (int8 weights) models: judged alike
    if "float16" in dtypes:
        return Precision.FP16
    return Precision.FP32
